"""
The PyTorch side of src/io/torch.test.ts, one process for the whole test file:

    /usr/bin/python3 test/torch/roundtrip.py JOB.json RESULT.json

JOB.json: {"forward": [case], "reverse": [case]}; a case holds a batch (time-major, as rnnkit's
Batch: T, B, lengths, tokens or inputs, condition; seq2seq: U, targets, targetLengths).
- forward: `file` is an rnnkit model file; it loads into python/rnnkit_torch.py strictly (with this
  file's own safetensors reader and, when installed, the `safetensors` package too) and the
  logits of the batch are returned (seq2seq: also attention and greedy ids for `greedy` steps).
- reverse: a PyTorch model of `kind`/`config` with random weights (seed), its state_dict renamed
  by `rename` ([old prefix, new prefix] pairs, the names a user's own module would have), biases
  zeroed and dropped when `dropBias`, saved to `out` as .safetensors (as `dtype`: F32, F16 or
  BF16); returns its logits.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import torch  # noqa: E402
import rnnkit_torch  # noqa: E402


def batch_tensors(case):
    T, B = case["T"], case["B"]
    out = {"lengths": case["lengths"]}
    if "tokens" in case:
        out["x"] = torch.tensor(case["tokens"], dtype=torch.int64).view(T, B)
    else:
        out["x"] = torch.tensor(case["inputs"], dtype=torch.float32).view(T, B, -1)
    if case.get("condition") is not None:
        out["condition"] = torch.tensor(case["condition"], dtype=torch.float32).view(B, -1)
    if "U" in case:
        out["targets"] = torch.tensor(case["targets"], dtype=torch.int64).view(case["U"], B)
    return out


@torch.no_grad()
def run(model, case):
    b = batch_tensors(case)
    if isinstance(model, rnnkit_torch.Seq2Seq):
        logits, att = model(b["x"], b["lengths"], b["targets"], case["targetLengths"])
        res = {"logits": logits.flatten().tolist(), "attention": att.flatten().tolist() if att is not None else None}
        if case.get("greedy"):
            res["greedy"] = model.greedy(b["x"], b["lengths"], case["greedy"])
        return res
    return {"logits": model(b["x"], b["lengths"], b.get("condition")).flatten().tolist()}


def forward(case):
    model, meta = rnnkit_torch.load_rnnkit(case["file"], use_package=False)
    res = run(model, case)
    res["kind"] = meta.get("kind")
    try:
        import safetensors  # noqa: F401
        res["package"] = run(rnnkit_torch.load_rnnkit(case["file"], use_package=True)[0], case)["logits"]
    except ImportError:
        res["package"] = None
    return res


def reverse(case):
    torch.manual_seed(case.get("seed", 0))
    model = rnnkit_torch.build(case["kind"], case["config"]).eval()
    with torch.no_grad():
        for p in model.parameters():  # larger than the default init, so that mistakes show
            p.uniform_(-0.6, 0.6)
    sd = model.state_dict()
    if case.get("dropBias"):
        with torch.no_grad():
            for k, v in sd.items():
                if k.rsplit(".", 1)[-1].startswith("bias"):
                    v.zero_()
        sd = {k: v for k, v in sd.items() if not k.rsplit(".", 1)[-1].startswith("bias")}
    renamed = {}
    for k, v in sd.items():
        for old, new in case.get("rename", []):
            if k.startswith(old):
                k = new + k[len(old):]
                break
        renamed[k] = v
    dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[case.get("dtype", "F32")]
    with torch.no_grad():  # the outputs are those of the weights as saved
        for v in renamed.values():
            v.copy_(v.to(dtype).float())
    rnnkit_torch.save_safetensors(renamed, case["out"], use_package=False, dtype=dtype)
    # the file reads back, with this reader, as the same tensors
    back, _ = rnnkit_torch.read_safetensors(case["out"], use_package=False)
    assert sorted(back) == sorted(renamed) and all(back[k].dtype == dtype and torch.equal(back[k].float(), renamed[k]) for k in back)
    res = run(model, case)
    res["names"] = sorted(renamed)
    return res


def main():
    job = json.load(open(sys.argv[1]))
    out = {"torch": torch.__version__, "forward": [forward(c) for c in job["forward"]], "reverse": [reverse(c) for c in job["reverse"]]}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
