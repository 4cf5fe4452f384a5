/** ONNX export (opset 17, official onnx.proto via protobufjs). */
export { exportOnnx, buildOnnxModel, onnxModelType, ONNX_OPSET, ONNX_IR_VERSION, ONNX_INPUT, ONNX_OUTPUT } from './export.ts';
export type { OnnxExportOptions } from './export.ts';
