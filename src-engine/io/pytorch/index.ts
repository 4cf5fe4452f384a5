/** PyTorch code generation: model.py (architecture + safetensors reader + load_model) and train.py (torchrun + DDP). */
export { generateModelPy } from './model-py.ts';
export { generateTrainPy } from './train-py.ts';
export { pyLiteral, pyString } from './python.ts';
