/**
 * Serialisation: safetensors (weights and checkpoints), the weights ⇄ tensors
 * mapping, ONNX export, PyTorch code generation and model cards. Pure
 * TypeScript (bytes and strings in and out); the host writes the files.
 */
export * from './safetensors.ts';
export * from './weights.ts';
export * from './export-info.ts';
export { modelCard, type CardFormat } from './model-card.ts';
export * from './onnx/index.ts';
export * from './pytorch/index.ts';
