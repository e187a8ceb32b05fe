"""
rnnkit models as PyTorch modules: the reference that an rnnkit `.safetensors` model file loads into.

Each class below mirrors one rnnkit model kind (src/models/sequence-model.ts, src/models/seq2seq.ts,
src/layers/attention.ts) with torch.nn modules whose state_dict names ARE the file's tensor names,
so `load_state_dict(..., strict=True)` takes an rnnkit file as it is, and the outputs equal
rnnkit's to float32 precision (checked by src/io/torch.test.ts with real PyTorch):

    import rnnkit_torch
    model, meta = rnnkit_torch.load_rnnkit("sentiment.safetensors")   # an nn.Module in eval mode
    logits = model(tokens, lengths)       # tokens [T, B] (time-major, as rnnkit), lengths [B]

    # the reverse: a PyTorch state_dict as a .safetensors file that `rnnkit import --from torch` reads
    rnnkit_torch.save_safetensors(my_model.state_dict(), "weights.safetensors")

Layouts: sequences are time-major, [T, B] ids or [T, B, X] numbers, with one length per batch
element (packed-sequence semantics: outputs zero past each length, the final state at each
sequence's own last step). Token ids: <pad> 0, <unk> 1, <bos> 2, <eos> 3.

The safetensors format is read and written by the few lines below, which follow the format's
specification (https://github.com/huggingface/safetensors#format), or by the `safetensors`
package when it is installed (Debian has no package of it).

rnnkit's Keras variants (the reset-before GRU, hard-sigmoid gates), which torch.nn has no module
for, run in LoopRNN below, with the same parameter names. Needs PyTorch (>= 1.13; Debian's
python3-torch) and nothing else.
"""
import json
import struct

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["read_safetensors", "save_safetensors", "load_rnnkit", "build", "SequenceModel", "Seq2Seq", "Attention", "LoopRNN"]

# safetensors dtype names <-> torch dtypes (the ones a float model holds)
_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}
_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}


def read_safetensors(path, use_package=True):
    """The tensors (name -> torch.Tensor) and the string metadata of a .safetensors file."""
    if use_package:
        try:
            from safetensors import safe_open
        except ImportError:
            safe_open = None
        if safe_open is not None:
            with safe_open(path, framework="pt") as f:
                return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    with open(path, "rb") as f:
        data = f.read()
    # 8 bytes: N, little-endian u64; N bytes: the JSON header; then the byte buffer
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file: {len(data)} bytes, expected at least 8")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: the header claims {n} bytes, the file has {len(data) - 8} after the length")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    # the tensors cover the buffer exactly: contiguous, no holes, no overlaps
    at = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if e["data_offsets"][0] != at:
            raise ValueError(f"{path}: {name}: data starts at {e['data_offsets'][0]}, expected {at} (holes or overlaps)")
        at = e["data_offsets"][1]
    if at != len(body):
        raise ValueError(f"{path}: the tensors cover {at} bytes of data, the file has {len(body)}")
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if e["dtype"] not in _DTYPES or end - begin != count * _SIZES[e["dtype"]] or end > len(body):
            raise ValueError(f"{path}: {name}: dtype {e['dtype']} shape {e['shape']} does not fit data_offsets {e['data_offsets']}")
        raw = bytearray(body[begin:end])  # a copy: the tensor owns its memory
        t = torch.frombuffer(raw, dtype=_DTYPES[e["dtype"]]) if count else torch.empty(0, dtype=_DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    return tensors, metadata


def save_safetensors(state_dict, path, metadata=None, use_package=True, dtype=torch.float32):
    """Writes tensors (a state_dict) to a .safetensors file, float tensors as `dtype` (F32; F16, BF16 and F64 also import into rnnkit)."""
    tensors = {k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).contiguous().cpu() for k, v in state_dict.items()}
    if use_package:
        try:
            from safetensors.torch import save_file
        except ImportError:
            save_file = None
        if save_file is not None:
            save_file(tensors, path, metadata=metadata)
            return
    names = {v: k for k, v in _DTYPES.items()}
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for k, v in tensors.items():
        # numpy has no bfloat16: its bits are the top half of a float32 (little-endian)
        b = (v.float().numpy().view("<u4") >> 16).astype("<u2").tobytes() if v.dtype == torch.bfloat16 else v.numpy().astype(v.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[k] = {"dtype": names[v.dtype], "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)  # the buffer starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class LoopRNN(nn.Module):
    """
    rnnkit's Keras variants, which torch.nn has no module for: the reset-before GRU
    (`resetAfter: false`, n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)) and hard-sigmoid gates
    (`recurrentActivation: "hardSigmoid"`, max(0, min(1, 0.2 x + 0.5))), as a plain time loop with
    nn.LSTM's / nn.GRU's parameter names and layouts (weight_ih_l{k}[_reverse] [G*H, in], ...) and
    packed-sequence semantics (outputs zero and the state frozen past each length). Called as the
    torch.nn modules are: `(x [T, B, In], state) -> (output [T, B, D*H], state [L*D, B, H])`.
    """

    def __init__(self, cell, inp, hid, layers, bidirectional, reset_after, hard_sigmoid):
        super().__init__()
        self.cell, self.H, self.L, self.D = cell, hid, layers, 2 if bidirectional else 1
        self.reset_after, self.hard = reset_after, hard_sigmoid
        G = {"lstm": 4, "gru": 3}[cell]
        k = hid ** -0.5
        for l in range(layers):
            for d in range(self.D):
                sfx = f"_l{l}" + ("_reverse" if d else "")
                for name, shape in ((f"weight_ih{sfx}", (G * hid, inp if l == 0 else self.D * hid)), (f"weight_hh{sfx}", (G * hid, hid)), (f"bias_ih{sfx}", (G * hid,)), (f"bias_hh{sfx}", (G * hid,))):
                    self.register_parameter(name, nn.Parameter(torch.empty(shape).uniform_(-k, k)))

    def _sig(self, v):
        return torch.clamp(0.2 * v + 0.5, 0.0, 1.0) if self.hard else torch.sigmoid(v)

    def _step(self, sfx, x, h, c):
        wi, wh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        bi, bh = getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)
        gi = x @ wi.t() + bi
        if self.cell == "lstm":
            i, f, g, o = (gi + h @ wh.t() + bh).chunk(4, -1)
            c = self._sig(f) * c + self._sig(i) * torch.tanh(g)
            return self._sig(o) * torch.tanh(c), c
        H = self.H
        gh = h @ wh[: 2 * H].t() + bh[: 2 * H]
        r = self._sig(gi[:, :H] + gh[:, :H])
        z = self._sig(gi[:, H:2 * H] + gh[:, H:])
        if self.reset_after:
            n = torch.tanh(gi[:, 2 * H:] + r * (h @ wh[2 * H:].t() + bh[2 * H:]))
        else:
            n = torch.tanh(gi[:, 2 * H:] + (r * h) @ wh[2 * H:].t() + bh[2 * H:])
        return (1 - z) * n + z * h, c

    def forward(self, x, state=None, lengths=None):
        T, B = x.shape[0], x.shape[1]
        lengths = torch.as_tensor(lengths if lengths is not None else [T] * B)
        if state is None:
            z = x.new_zeros(self.L * self.D, B, self.H)
            state = (z, z.clone()) if self.cell == "lstm" else z
        h0, c0 = (state if self.cell == "lstm" else (state, torch.zeros_like(state)))
        hs, cs, inp = [], [], x
        for l in range(self.L):
            outs = []
            for d in range(self.D):
                sfx = f"_l{l}" + ("_reverse" if d else "")
                h, c = h0[l * self.D + d], c0[l * self.D + d]
                out = x.new_zeros(T, B, self.H)
                for t in (range(T - 1, -1, -1) if d else range(T)):
                    live = (t < lengths)[:, None]
                    hn, cn = self._step(sfx, inp[t], h, c)
                    h, c = torch.where(live, hn, h), torch.where(live, cn, c)
                    out[t] = torch.where(live, hn, torch.zeros_like(hn))
                outs.append(out)
                hs.append(h)
                cs.append(c)
            inp = torch.cat(outs, -1)
        h, c = torch.stack(hs), torch.stack(cs)
        return inp, ((h, c) if self.cell == "lstm" else h)


def _rnn(cell, inp, hid, layers, bidirectional=False, config=None):
    """rnnkit's cell names (src/models/model.ts CELLS) and gate settings -> the torch.nn recurrent module (LoopRNN for the Keras variants)."""
    config = config or {}
    hard = config.get("recurrentActivation", "sigmoid") == "hardSigmoid"
    reset_after = config.get("resetAfter", True) is not False
    if cell in ("lstm", "gru") and (hard or (cell == "gru" and not reset_after)):
        return LoopRNN(cell, inp, hid, layers, bidirectional, reset_after, hard)
    if cell == "lstm":
        return nn.LSTM(inp, hid, num_layers=layers, bidirectional=bidirectional)
    if cell == "gru":
        return nn.GRU(inp, hid, num_layers=layers, bidirectional=bidirectional)
    if cell in ("rnn", "rnn_relu"):
        return nn.RNN(inp, hid, num_layers=layers, bidirectional=bidirectional, nonlinearity="relu" if cell == "rnn_relu" else "tanh")
    raise ValueError(f"cell: expected lstm, gru, rnn or rnn_relu, got {cell!r}")


def _packed(rnn, x, lengths, state=None):
    """Runs `rnn` over x [T, B, In] with packed-sequence semantics: output [T, B, D*H] zero past each length."""
    if isinstance(rnn, LoopRNN):
        return rnn(x, state, lengths)
    packed = pack_padded_sequence(x, torch.as_tensor(lengths, dtype=torch.int64).cpu(), enforce_sorted=False)
    out, final = rnn(packed, state)
    out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    return out, final


def _valid(T, lengths):
    """[T, B] True where t < lengths[b]."""
    return torch.arange(T)[:, None] < torch.as_tensor(lengths)[None, :]


class SequenceModel(nn.Module):
    """
    rnnkit's SequenceModel (src/models/sequence-model.ts):

        tokens [T, B] -> embedding -> rnn -> head per step               task lm, tag: logits [T, B, O]
        tokens [T, B] or numbers [T, B, X] -> rnn -> pool -> head         task classify, regress: [B, O]
        condition [B, C] -> tanh(init(c)) = h0 of every layer and direction   (conditionSize)

    Pooling: "last" = the final state of the top layer at each sequence's own last step (both
    directions side by side), "mean" / "max" over the valid steps of the output.
    state_dict names: embedding.weight, rnn.*, head.weight, head.bias, init.weight, init.bias.
    """

    def __init__(self, config):
        super().__init__()
        c = self.config = dict(config)
        self.task, self.cell = c["task"], c["cell"]
        self.L, self.D, self.H = c.get("numLayers", 1), 2 if c.get("bidirectional") else 1, c["hiddenSize"]
        self.pooling = c.get("pooling", "last")
        if c.get("vocabSize") is not None:
            self.embedding = nn.Embedding(c["vocabSize"], c["embeddingDim"])
            inp = c["embeddingDim"]
        else:
            self.embedding = None
            inp = c["inputSize"]
        self.rnn = _rnn(self.cell, inp, self.H, self.L, self.D == 2, c)
        self.head = nn.Linear(self.D * self.H, c["outputSize"])
        self.init = nn.Linear(c["conditionSize"], self.L * self.D * self.H) if c.get("conditionSize") else None

    def forward(self, x, lengths, condition=None):
        """x: ids [T, B] (token models) or numbers [T, B, X]; lengths [B]; condition [B, C] -> logits."""
        T, B = x.shape[0], x.shape[1]
        valid = _valid(T, lengths)
        if self.embedding is not None:
            x = self.embedding(torch.where(valid, x, torch.zeros_like(x)))  # padding reads <pad>, as rnnkit
        state = None
        if self.init is not None and condition is not None:
            h0 = torch.tanh(self.init(condition)).view(B, self.L * self.D, self.H).transpose(0, 1).contiguous()
            state = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
        out, final = _packed(self.rnn, x, lengths, state)
        if self.task in ("lm", "tag"):
            return self.head(out)
        if self.pooling == "last":
            h = final[0] if self.cell == "lstm" else final
            pooled = h.view(self.L, self.D, B, self.H)[-1].permute(1, 0, 2).reshape(B, self.D * self.H)
        elif self.pooling == "mean":
            pooled = out.sum(0) / torch.as_tensor(lengths, dtype=out.dtype)[:, None]
        else:
            pooled = out.masked_fill(~valid[:, :, None], float("-inf")).max(0).values
        return self.head(pooled)


class Attention(nn.Module):
    """
    src/layers/attention.ts: scores of a query q [B, Q] against a memory [S, B, C] with lengths:
    "luong-dot" q . e; "luong" q . (W e) (`weight` [Q, C]); "bahdanau" v . tanh(W_q q + W_k e)
    (`query.weight`, `key.weight`, `v.weight`); softmax over the valid positions; the weighted sum.
    """

    def __init__(self, kind, Q, C, A=None):
        super().__init__()
        self.kind = kind
        if kind == "luong":
            self.weight = nn.Parameter(torch.empty(Q, C))
            nn.init.uniform_(self.weight, -C ** -0.5, C ** -0.5)
        elif kind == "bahdanau":
            A = A or Q
            self.query = nn.Linear(Q, A, bias=False)
            self.key = nn.Linear(C, A, bias=False)
            self.v = nn.Linear(A, 1, bias=False)
        elif kind != "luong-dot":
            raise ValueError(f"attention: expected luong, luong-dot or bahdanau, got {kind!r}")

    def forward(self, q, memory, lengths):
        """q [B, Q], memory [S, B, C] -> context [B, C], weights [B, S]."""
        m = memory.transpose(0, 1)  # [B, S, C]
        if self.kind == "luong-dot":
            scores = torch.einsum("bq,bsq->bs", q, m)
        elif self.kind == "luong":
            scores = torch.einsum("bq,bsq->bs", q, m @ self.weight.t())
        else:
            scores = self.v(torch.tanh(self.query(q)[:, None, :] + self.key(m))).squeeze(-1)
        scores = scores.masked_fill(~_valid(memory.shape[0], lengths).t(), float("-inf"))
        a = torch.softmax(scores, dim=1)
        return torch.einsum("bs,bsc->bc", a, m), a


class _Part(nn.Module):
    """An encoder or decoder side: `embedding` and `rnn`, the names rnnkit gives them."""

    def __init__(self, vocab, E, rnn):
        super().__init__()
        self.embedding = nn.Embedding(vocab, E)
        self.rnn = rnn


class _Bridge(nn.Module):
    def __init__(self, C, Hd, with_c):
        super().__init__()
        self.h = nn.Linear(C, Hd)
        if with_c:
            self.c = nn.Linear(C, Hd)


class Seq2Seq(nn.Module):
    """
    rnnkit's Seq2Seq (src/models/seq2seq.ts; the equations are in its file comment):
    encoder.embedding, encoder.rnn (any cell, stacked, bidirectional) -> memory [S, B, C = D*H];
    decoder layer l starts from encoder layer min(Le-1, max(0, l + Le - Ld)), directions side by
    side, through bridge.h / bridge.c (Linear + tanh) when C != Hd; decoder.embedding,
    decoder.rnn; attention none | luong | luong-dot (after the decoder, all steps at once) or
    bahdanau (before each step, the context fed into the decoder input); combine (W_c, no bias):
    h~ = tanh(W_c [c; s]); head: logits.
    """

    def __init__(self, config):
        super().__init__()
        c = self.config = dict(config)
        E, H = c["embeddingDim"], c["hiddenSize"]
        self.D = 2 if c.get("bidirectional") else 1
        self.Le = c.get("numLayers", 1)
        self.Ld = c.get("decoderLayers", self.Le)
        self.C = self.D * H
        self.Hd = c.get("decoderHiddenSize", self.C)
        self.enc_cell, self.dec_cell = c["cell"], c.get("decoderCell", c["cell"])
        self.att = c.get("attention", "luong")
        self.encoder = _Part(c["sourceVocabSize"], E, _rnn(self.enc_cell, E, H, self.Le, self.D == 2, c))
        dec_in = E + self.C if self.att == "bahdanau" else E
        self.decoder = _Part(c["targetVocabSize"], E, _rnn(self.dec_cell, dec_in, self.Hd, self.Ld, False, c))
        self.bridge = _Bridge(self.C, self.Hd, self.enc_cell == "lstm" and self.dec_cell == "lstm") if self.C != self.Hd else None
        self.attention = Attention(self.att, self.Hd, self.C) if self.att != "none" else None
        self.combine = nn.Linear(self.C + self.Hd, self.Hd, bias=False) if self.att != "none" else None
        self.head = nn.Linear(self.Hd, c["targetVocabSize"])

    def encode(self, src, lengths):
        """src [S, B] -> memory [S, B, C] and the decoder's initial state."""
        S, B = src.shape
        valid = _valid(S, lengths)
        mem, state = _packed(self.encoder.rnn, self.encoder.embedding(torch.where(valid, src, torch.zeros_like(src))), lengths)
        h = state[0] if self.enc_cell == "lstm" else state
        c = state[1] if self.enc_cell == "lstm" else None

        def layers(s):  # [Le*D, B, H] -> [Ld, B, D*H], the layer each decoder layer starts from
            s = s.view(self.Le, self.D, B, -1).permute(0, 2, 1, 3).reshape(self.Le, B, -1)
            return s[[min(self.Le - 1, max(0, l + self.Le - self.Ld)) for l in range(self.Ld)]]

        h0, c0 = layers(h), (layers(c) if c is not None else None)
        if self.bridge is not None:
            h0 = torch.tanh(self.bridge.h(h0))
            c0 = torch.tanh(self.bridge.c(c0)) if hasattr(self.bridge, "c") else None
        if self.dec_cell == "lstm":
            return mem, (h0.contiguous(), (c0 if c0 is not None else torch.zeros_like(h0)).contiguous())
        return mem, h0.contiguous()

    def output(self, ctx, s):
        return self.head(torch.tanh(self.combine(torch.cat([ctx, s], -1)))) if self.combine is not None else self.head(s)

    def forward(self, src, lengths, targets, target_lengths):
        """
        Teacher forcing, as rnnkit's Seq2Seq.forward: src [S, B] ids, targets [U, B] ids (each ending
        in <eos>); the decoder reads <bos> y_1 .. y_{U-1} (<pad> past each target length) ->
        logits [U, B, Vt] and the attention weights [U, B, S] (None without attention).
        """
        U = targets.shape[0]
        mem, st = self.encode(src, lengths)
        tvalid = _valid(U, target_lengths)
        din = torch.full_like(targets, 2)  # <bos>
        din[1:] = targets[:-1]
        din = torch.where(tvalid, din, torch.zeros_like(din))
        emb = self.decoder.embedding(din)
        if self.att != "bahdanau":
            s, _ = _packed(self.decoder.rnn, emb, target_lengths, st)  # zero past each target length
            if self.attention is None:
                return self.head(s), None
            ctx, att = zip(*[self.attention(s[u], mem, lengths) for u in range(U)])
            ctx, att = torch.stack(ctx), torch.stack(att)
            return self.output(ctx, s), att
        logits, atts = [], []
        for u in range(U):  # every row runs all U steps; rows past their target length read <pad>
            top = (st[0] if self.dec_cell == "lstm" else st)[-1]
            ctx, a = self.attention(top, mem, lengths)
            s, st = self.decoder.rnn(torch.cat([emb[u], ctx], -1)[None], st)
            logits.append(self.output(ctx, s[0]))
            atts.append(a)
        return torch.stack(logits), torch.stack(atts)

    @torch.no_grad()
    def greedy(self, src, lengths, max_length):
        """Greedy decoding (rnnkit's translate without beam): ids per row, stopping at <eos> (3); <pad> and <bos> are never produced."""
        B = src.shape[1]
        mem, st = self.encode(src, lengths)
        prev = torch.full((B,), 2, dtype=torch.int64)
        out, done = [[] for _ in range(B)], [False] * B
        for _ in range(max_length):
            emb = self.decoder.embedding(prev)
            if self.att == "bahdanau":
                ctx, _ = self.attention((st[0] if self.dec_cell == "lstm" else st)[-1], mem, lengths)
                s, st = self.decoder.rnn(torch.cat([emb, ctx], -1)[None], st)
            else:
                s, st = self.decoder.rnn(emb[None], st)
                ctx = self.attention(s[0], mem, lengths)[0] if self.attention is not None else None
            logits = self.output(ctx, s[0])
            logits[:, [0, 2]] = float("-inf")  # never <pad> (0) or <bos> (2)
            prev = logits.argmax(-1)
            for b in range(B):
                if not done[b]:
                    if prev[b].item() == 3:
                        done[b] = True
                    else:
                        out[b].append(prev[b].item())
            if all(done):
                break
        return out


def build(kind, config):
    """An rnnkit model kind ("sequence" or "seq2seq") and its config -> the torch.nn module."""
    if kind == "sequence":
        return SequenceModel(config)
    if kind == "seq2seq":
        return Seq2Seq(config)
    raise ValueError(f"model kind: expected sequence or seq2seq, got {kind!r}")


def load_rnnkit(path, use_package=True):
    """
    An rnnkit model file -> (the module in eval mode, with every weight loaded strictly; the file's
    rnnkit metadata: kind, config, tokenizer, task info). Optimizer state (optim.*) and the resume
    weights of a checkpoint (last.*) are not the model's and are left out.
    """
    tensors, metadata = read_safetensors(path, use_package)
    if "rnnkit" not in metadata:
        raise ValueError(f"{path}: not an rnnkit model file (its metadata has no 'rnnkit' entry)")
    meta = json.loads(metadata["rnnkit"])
    fmt = meta.get("format", "")
    if fmt != "rnnkit-model/2":
        raise ValueError(f"{path}: model-file format {fmt!r}; this reader knows rnnkit-model/2 (load and save it with rnnkit to upgrade)")
    model = build(meta.get("kind", "sequence"), meta["config"])
    weights = {k: v.to(torch.float32) for k, v in tensors.items() if not k.startswith(("optim.", "last."))}
    model.load_state_dict(weights, strict=True)
    return model.eval(), meta
