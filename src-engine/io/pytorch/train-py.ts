/**
 * PyTorch code generation: `train.py`, which continues training an exported
 * model with torchrun + DistributedDataParallel on one or many machines,
 * reading LayerLab's dataset folder format (src-main/services/datasets/
 * FORMAT.md: dataset.json + raw uint8 HWC image files, optionally gzip'd).
 * It starts from the exported weights with the run's optimizer settings and
 * writes the continued weights back as safetensors (same names, so LayerLab
 * can import them).
 */
import type { ModelGraph } from '../../models/graph.ts';
import type { ExportInfo } from '../export-info.ts';
import { pyDocText, pyLiteral } from './python.ts';

const TRAIN_BODY = String.raw`
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from model import CLASS_NAMES, INPUT_SHAPE, Model, load_safetensors, save_safetensors


# ---------------------------------------------------------------- data


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    return gzip.decompress(raw) if path.endswith(".gz") else raw


class LayerLabDataset(Dataset):
    """One split of a LayerLab dataset folder: dataset.json + [N, H, W, C] uint8 images + labels."""

    def __init__(self, root, split):
        with open(os.path.join(root, "dataset.json"), "r", encoding="utf-8") as f:
            manifest = json.load(f)
        if split not in manifest["splits"]:
            raise SystemExit(f"{root}: the dataset has no {split!r} split")
        info = manifest["splits"][split]
        h, w, c = manifest["shape"]
        if (c, h, w) != tuple(INPUT_SHAPE):
            raise SystemExit(f"{root}: images are {c}x{h}x{w} (CxHxW) but the model expects {INPUT_SHAPE}")
        if len(manifest["classNames"]) != len(CLASS_NAMES):
            raise SystemExit(f"{root}: {len(manifest['classNames'])} classes, the model has {len(CLASS_NAMES)}")
        n = int(info["count"])
        self.images = np.frombuffer(_read(os.path.join(root, info["images"])), dtype=np.uint8).reshape(n, h, w, c)
        label_dtype = np.dtype("<u2") if manifest.get("labelBytes", 1) == 2 else np.uint8
        self.labels = np.frombuffer(_read(os.path.join(root, info["labels"])), dtype=label_dtype)[:n].astype(np.int64)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        # HWC uint8 -> CHW float32 raw 0..255 (the model normalises).
        image = torch.from_numpy(np.ascontiguousarray(self.images[i].transpose(2, 0, 1))).float()
        return image, int(self.labels[i])


# ---------------------------------------------------------------- optimizer


def make_optimizer(model, cfg, lr):
    """torch.optim equivalent of LayerLab's optimizer config (src-engine/optim/config.ts)."""
    kind = cfg.get("type", "sgd")
    wd = float(cfg.get("weightDecay", 0.01 if kind == "adamw" else 0.0))
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.get("decayBiasAndNorm", True):
        groups = [{"params": params, "weight_decay": wd}]
    else:  # biases and norm gains/shifts (1-D) are not decayed
        groups = [
            {"params": [p for p in params if p.dim() > 1], "weight_decay": wd},
            {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0},
        ]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=cfg.get("momentum", 0.0), dampening=cfg.get("dampening", 0.0), nesterov=cfg.get("nesterov", False))
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=tuple(cfg.get("betas", (0.9, 0.999))), eps=cfg.get("eps", 1e-8), amsgrad=cfg.get("amsgrad", False))
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(cfg.get("betas", (0.9, 0.999))), eps=cfg.get("eps", 1e-8), amsgrad=cfg.get("amsgrad", False))
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=cfg.get("alpha", 0.99), eps=cfg.get("eps", 1e-8), momentum=cfg.get("momentum", 0.0), centered=cfg.get("centered", False))
    if kind == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, lr_decay=cfg.get("lrDecay", 0.0), initial_accumulator_value=cfg.get("initialAccumulatorValue", 0.0), eps=cfg.get("eps", 1e-10))
    if kind == "adadelta":
        return torch.optim.Adadelta(groups, lr=lr, rho=cfg.get("rho", 0.9), eps=cfg.get("eps", 1e-6))
    raise SystemExit(f"unknown optimizer type {kind!r}")


# ---------------------------------------------------------------- training


def main():
    parser = argparse.ArgumentParser(description="Continue training the exported LayerLab model with DistributedDataParallel (launch with torchrun).")
    parser.add_argument("--data", required=True, help="LayerLab dataset folder (the one with dataset.json)")
    parser.add_argument("--weights", required=True, help="safetensors weights to start from")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=TRAINING.get("batchSize", 64), help="per process")
    parser.add_argument("--lr", type=float, default=None, help="default: the run's learning rate")
    parser.add_argument("--label-smoothing", type=float, default=TRAINING.get("labelSmoothing", 0.0))
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="constant", help="learning rate over the continued training")
    parser.add_argument("--seed", type=int, default=TRAINING.get("seed", 0))
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes per rank")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = no limit)")
    parser.add_argument("--sync-bn", action="store_true", help="synchronise BatchNorm statistics across processes")
    parser.add_argument("--out", default="weights-continued.safetensors")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed + rank)

    model = Model()
    state, metadata = load_safetensors(args.weights)
    model.load_state_dict(state, strict=True)
    if args.sync_bn:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    ddp = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)

    train_set = LayerLabDataset(args.data, "train")
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers, pin_memory=cuda)
    test_set = None
    with open(os.path.join(args.data, "dataset.json"), "r", encoding="utf-8") as f:
        if "test" in json.load(f)["splits"]:
            test_set = LayerLabDataset(args.data, "test")

    optimizer_cfg = TRAINING.get("optimizer", {"type": "sgd", "lr": 0.01, "momentum": 0.9})
    base_lr = args.lr if args.lr is not None else float(optimizer_cfg.get("lr", 0.01))
    optimizer = make_optimizer(ddp.module, optimizer_cfg, base_lr)
    clip = optimizer_cfg.get("clipNorm")
    total_steps = args.epochs * len(loader) if args.max_steps <= 0 else min(args.max_steps, args.epochs * len(loader))

    step = 0
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        ddp.train()
        sums = torch.zeros(3, device=device)  # loss sum, errors, examples
        started = time.time()
        for images, labels in loader:
            if args.max_steps and step >= args.max_steps:
                break
            if args.schedule == "cosine":
                for g in optimizer.param_groups:
                    g["lr"] = 0.5 * base_lr * (1 + math.cos(math.pi * step / max(1, total_steps)))
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            logits = ddp(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(ddp.parameters(), clip)
            optimizer.step()
            step += 1
            with torch.no_grad():
                sums += torch.stack([loss.detach() * len(labels), (logits.argmax(1) != labels).sum().float(), torch.tensor(float(len(labels)), device=device)])
        dist.all_reduce(sums)
        line = f"epoch {epoch}: train loss {sums[0] / max(1, sums[2]):.4f}, error {sums[1] / max(1, sums[2]):.4f} ({int(sums[2])} images, {time.time() - started:.1f}s)"
        if test_set is not None:
            line += f", test error {evaluate(ddp.module, test_set, args.batch_size, device, rank, world):.4f}"
        if rank == 0:
            print(line, flush=True)

    if rank == 0:
        meta = dict(metadata)
        meta["continued_from"] = os.path.basename(args.weights)
        meta["continued_steps"] = str(step)
        meta["continued_with"] = f"train.py, {world} process(es), torch {torch.__version__}"
        save_safetensors(args.out, ddp.module.state_dict(), meta)
        print(f"wrote {args.out} after {step} steps", flush=True)
    dist.barrier()
    dist.destroy_process_group()


@torch.no_grad()
def evaluate(model, dataset, batch_size, device, rank, world):
    """Test error over all processes (each evaluates its shard)."""
    model.eval()
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=False, drop_last=False)
    counts = torch.zeros(2, device=device)
    for images, labels in DataLoader(dataset, batch_size=batch_size, sampler=sampler):
        logits = model(images.to(device))
        counts += torch.tensor([(logits.argmax(1).cpu() != labels).sum().item(), len(labels)], dtype=torch.float32, device=device)
    dist.all_reduce(counts)
    model.train()
    return (counts[0] / max(1.0, counts[1].item())).item()


if __name__ == "__main__":
    main()
`;

/** The text of train.py for a graph (imports model.py from the same folder). */
export function generateTrainPy(graph: ModelGraph, info: ExportInfo): string {
  const t = info.training ?? {};
  const training = {
    optimizer: t.optimizer ?? { type: 'sgd', lr: 0.01, momentum: 0.9 },
    batchSize: t.batchSize ?? 64,
    labelSmoothing: t.labelSmoothing ?? 0,
    seed: t.seed ?? 0,
  };
  return `"""Continue training the exported ${pyDocText(graph.family)} model with torchrun and DistributedDataParallel.

One machine, N processes (GPUs, or CPU processes with the gloo backend):

    torchrun --nproc_per_node=N train.py --data <dataset folder> --weights weights.safetensors --epochs 1

Several machines: run the same command on each with --nnodes, --node_rank and
--rdzv_endpoint=<host:port> (see torchrun --help). The dataset folder is a
LayerLab dataset (dataset.json + images), as in <LayerLab data dir>/datasets/<id>/.
Each process trains on its DistributedSampler shard; the continued weights are
written by rank 0 as safetensors with the same tensor names, so LayerLab
can import them.

If torchrun itself fails with "'NoneType' object has no attribute 'get'" (PyTorch
older than 2.0 on Python 3.11, e.g. Debian 12's python3-torch), add
--redirects 1 --tee 1 to the torchrun options.

Defaults come from the LayerLab run${info.runId ? ` ${pyDocText(info.runId)}` : ''} (TRAINING below). Not reproduced:
LayerLab's augmentation pipeline, its dev split and its learning-rate schedule
(use --schedule cosine or --lr to choose one).
"""
TRAINING = ${pyLiteral(training)}
${TRAIN_BODY}`;
}
