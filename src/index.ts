/**
 * rnnkit: recurrent neural networks for TypeScript. Named exports only.
 */
export { RNN, LSTM, GRU, type RNNOptions, type GRUOptions, type LSTMOptions, type GateOptions } from "./layers/layers.js";
export { RNNCell, LSTMCell, GRUCell, type CellOptions, type CellState, type CellGradients, type CellInputGradients } from "./layers/cells.js";
export {
  Recurrent, type RecurrentOptions, type ForwardOptions, type RecurrentOutput, type RecurrentGradients,
  type RecurrentInputGradients,
} from "./layers/recurrent.js";
export type { Module, Parameter, WeightLike } from "./layers/module.js";
export type { Backend, DType } from "./backend/backend.js";
export { JsBackend } from "./backend/js.js";
export { getBackend, setBackend } from "./backend/index.js";
export { type Tensor, type TensorLike, type Floats, RnnkitError, tensor } from "./tensor.js";
export { gateOrder, type CellType } from "./gates.js";
export { defaults, autoSizes, lengthStats, sizeRules, type AutoSizes, type DataStats } from "./defaults.js";
export { importTorch, importTorchTensors, TORCH_ROLES, type TorchImport, type TorchImportOptions, type TorchRole } from "./io/torch.js";
export { kerasToTorch, torchToKeras, type KerasRecurrentWeights, type KerasCell } from "./io/keras.js";
export {
  saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, writeFileAtomic, type SafetensorsFile,
} from "./io/safetensors.js";
export { Tokenizer, SPECIALS, PAD, UNK, BOS, EOS, type TokenizerJSON, type BuildOptions } from "./data/tokenizer.js";
export { Scaler, type ScalerJSON } from "./data/scaler.js";
export { Linear, type LinearOptions } from "./layers/linear.js";
export { Embedding, type EmbeddingOptions } from "./layers/embedding.js";
export { Dropout } from "./layers/dropout.js";
export { SequenceModel, type ModelConfig, type SequenceTask } from "./models/sequence-model.js";
export { Seq2Seq, asSeq2Seq, type Seq2SeqConfig, type DecoderState } from "./models/seq2seq.js";
export { Attention, ATTENTIONS, type AttentionKind, type AttentionScore, type AttentionOptions, type AttentionOutput } from "./layers/attention.js";
export { translate, type TranslateOptions, type Translation } from "./decode/seq2seq.js";
export { TASKS, CELLS, POOLINGS, MODEL_KINDS, type Model, type ModelKind, type Task, type CellName, type Pooling, type StepLoss, type StepResult } from "./models/model.js";
export type { Batch } from "./data/batch.js";
export { fit, evaluate, type FitOptions, type FitResult, type TrainData, type Progress, type Metrics, type EpochReport, type BestState, type TrainerState, type EpochPosition, type CarriedState } from "./train/trainer.js";
export { crossEntropy, mseLoss, bceWithLogits, type LossResult } from "./losses/losses.js";
export { Optimizer, clipGradNorm, lrFactor, autoWarmup, resolveSchedule, checkSchedule, scheduleKinds, type OptimizerName, type OptimizerOptions, type Schedule, type ScheduleOption } from "./train/optimizers.js";
export { sample, generate, generateIds, Stream, type SampleOptions } from "./decode/sample.js";
export { rnnkitVersion, saveModel, loadModel, modelToBytes, modelFromBytes, type SavedModel, type Checkpoint, type ModelExtras } from "./io/model-file.js";
export { exportOnnx, exportSeq2SeqOnnx, type OnnxExportOptions } from "./io/onnx.js";
export { loadTfjsModel, exportTfjs, tfjsLengths, tfjsShards, tfjsModelJson, type TfjsImport, type TfjsImportOptions, type TfjsModelJson, type TfjsWeightSpec, type TfjsArtifacts } from "./io/tfjs.js";
export { padBatch, padPairs, bucketBatches, streamChunks, type Example } from "./data/batches.js";
export { NonFiniteError } from "./tensor.js";
export { backendByName, availableBackends } from "./backend/index.js";
export { createWasmBackend, wasmSimdSupported, type WasmBackend, type WasmBackendOptions } from "./backend/wasm/wasm.js";
export { wasmSimdKinds, type WasmSimd } from "./backend/wasm/simd.js";
// the task layer: a loaded model file as the object of its task, predicting on raw input
export { openTask, expectTask, type TaskModel } from "./tasks/open.js";
export { predictRows, checkInputs, type GenerationRequest } from "./tasks/rows.js";
export {
  TASK_NAMES, MODEL_TASK, parseInfo, encodeAll, vocabularyOf, type TaskName, type TaskInfo, type LmInfo, type ClassifyInfo, type ForecastInfo, type TagInfo,
  type Seq2SeqInfo, type Encoded,
} from "./tasks/task.js";
export { Classifier, balancedClassWeights, classifyExamples, classifyTokenizer, labelSet, type ClassPrediction, type ClassifyEval } from "./tasks/classify.js";
export {
  Tagger, parseConll, parseTaggedJsonl, parseTagged, formatTagged, tagVocabulary, tagExamples, type Sentence, type TaggedFormat, type TagPrediction,
} from "./tasks/tag.js";
export { Forecaster, forecastRows, forecastWindows, fitForecastScaler, forecastMetrics, type ForecastRows } from "./tasks/forecast.js";
export { LanguageModel } from "./tasks/lm.js";
export { Translator, seq2seqPairs, seq2seqExamples, type Pair, type Seq2SeqEval } from "./tasks/seq2seq.js";
export {
  accuracy, macroF1, confusionMatrix, regressionMetrics, tokenAccuracy, editDistance, sequenceMetrics, type RegressionMetrics,
} from "./tasks/metrics.js";
export { parameterTable, type ParameterRow } from "./inspect/parameters.js";
export {
  inspect, gradientThroughTime, gateNames, DIRECTIONS, type Direction, type Inspection, type LayerTrace, type GradientThroughTime, type GradientTrace,
  type LossFunction, type InspectOptions,
} from "./inspect/inspect.js";
export { parameterCounts, cellComparison, type ParameterCounts, type CellCount } from "./inspect/parameters.js";
export type { RecurrentTrace } from "./layers/recurrent.js";
export {
  gatesChart, statesChart, gradientSeries, gradientNormChart, attentionChart, tableChart, parameterChart, lossChart, memoryAccuracyChart,
  type ChartSpec, type NormSeries, type HistoryPoint, type MemoryRow,
} from "./inspect/charts.js";
export {
  memoryExperiment, delayedRecall, memoryModelConfig, hiddenForParameters, setKeepGateBias, setChronoGateBias, MEMORY_CELLS, type MemoryCell, MEMORY_GATE_INITS, type MemoryGateInit, type MemoryOptions,
  type MemoryResult, type MemoryGradient,
} from "./inspect/memory.js";
