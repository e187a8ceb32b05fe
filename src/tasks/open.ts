/**
 * `openTask(saved)`: a loaded model file as the object of its task, ready for raw input:
 *
 *   const t = openTask(loadModel("reviews.safetensors"));
 *   if (t.task === "classify") t.predict(["great film"]);   // [{ label, probabilities }]
 *   const clf = expectTask(t, "classify");                    // or: narrow, with a clear error
 *   expectTask(t, "seq2seq").predict(["hello"]);              // ["hallo"]
 *
 * The task info is checked against the model, tokenizer and scaler first (`parseInfo`).
 */
import type { SavedModel } from "../io/model-file.js";
import { asSeq2Seq } from "../models/seq2seq.js";
import { asSequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { Classifier } from "./classify.js";
import { Forecaster } from "./forecast.js";
import { LanguageModel } from "./lm.js";
import { Translator } from "./seq2seq.js";
import { Tagger } from "./tag.js";
import { type TaskName, parseInfo } from "./task.js";

export type TaskModel = LanguageModel | Classifier | Forecaster | Tagger | Translator;

/** The task object of a loaded model file; `source` names the file in errors. */
export function openTask(saved: SavedModel, source = "model"): TaskModel {
  const info = parseInfo(source, saved);
  if (info.task === "seq2seq") return new Translator(asSeq2Seq(source, saved.model), saved.tokenizer!, info);
  const model = asSequenceModel(source, saved.model);
  switch (info.task) {
    case "lm":
      return new LanguageModel(model, saved.tokenizer!, info);
    case "classify":
      return new Classifier(model, saved.tokenizer!, info);
    case "tag":
      return new Tagger(model, saved.tokenizer!, info);
    case "forecast":
      return new Forecaster(model, saved.scaler!, info);
  }
}

type ByName = { lm: LanguageModel; classify: Classifier; forecast: Forecaster; tag: Tagger; seq2seq: Translator };

/** `t` as the task `want`, or an error that says which task the model is and what `where` needs. */
export function expectTask<K extends keyof ByName>(t: TaskModel, want: K, where = "this"): ByName[K] {
  if (t.task === want) return t as ByName[K];
  throw new RnnkitError(`${where}: the model is a ${t.task} model; ${where} needs a ${want} model (rnnkit train ${want})`);
}

export type { TaskName };
