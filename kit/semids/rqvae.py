"""RQ-VAE (Lee et al. 2022; the tokenizer of TIGER, Rajput et al. 2023): residual quantization of a learned latent.

An encoder MLP maps an item vector ``x`` to a latent ``z``; ``L`` codebooks ``C^1..C^L`` of ``K``
vectors quantize it residually, and a decoder MLP reconstructs ``x`` from the sum::

    r_0 = z = E(x),   c_l = argmin_k ||r_{l-1} - C^l_k||,   r_l = r_{l-1} - C^l_{c_l}
    ẑ = Σ_l C^l_{c_l},   x̂ = D(z + sg[ẑ - z])            (straight-through gradient to the encoder)
    loss = ||x - x̂||² + Σ_l ( ||sg[r_{l-1}] - C^l_{c_l}||² + β ||r_{l-1} - sg[C^l_{c_l}]||² )

The second term moves codewords towards the residuals they quantize; the third (commitment, ``β``)
keeps the encoder close to its codewords. Two details make the codebooks used rather than collapsed:
each codebook starts as the k-means centroids of its level's residuals on the first pass
(faiss), and a codeword that no item chose during an epoch is restarted at a random residual of
that level (a dead-code restart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from kit.training import Trainable, fit


@dataclass
class RQVAEConfig:
    levels: int = 3
    codebook_size: int = 64
    latent_dim: int = 32
    hidden: tuple[int, ...] = (256, 128)
    beta: float = 0.25
    epochs: int = 200
    batch_size: int = 512
    lr: float = 1e-3
    seed: int = 0


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class RQVAE(Trainable):
    def __init__(self, input_dim: int, config: RQVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _mlp([input_dim, *config.hidden, config.latent_dim])
        self.decoder = _mlp([config.latent_dim, *reversed(config.hidden), input_dim])
        self.codebooks = nn.Parameter(torch.randn(config.levels, config.codebook_size, config.latent_dim) * 0.1)
        self._restart: tuple[torch.Tensor, torch.Generator] | None = None  # (vectors, generator) while training

    def quantize(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(codes (n, L), quantized latent ẑ, codebook + commitment loss)``."""
        residual, quantized = z, torch.zeros_like(z)
        codes, loss = [], z.new_zeros(())
        for level in range(self.config.levels):
            book = self.codebooks[level]
            code = torch.cdist(residual.detach(), book.detach()).argmin(dim=1)
            chosen = book[code]
            loss = loss + ((residual.detach() - chosen) ** 2).sum(-1).mean()
            loss = loss + self.config.beta * ((residual - chosen.detach()) ** 2).sum(-1).mean()
            quantized = quantized + chosen
            residual = residual - chosen.detach()
            codes.append(code)
        return torch.stack(codes, dim=1), quantized, loss

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction x̂, codes, total loss)``."""
        z = self.encoder(x)
        codes, quantized, vq_loss = self.quantize(z)
        reconstruction = self.decoder(z + (quantized - z).detach())
        return reconstruction, codes, ((x - reconstruction) ** 2).sum(-1).mean() + vq_loss

    @torch.no_grad()
    def init_codebooks(self, x: torch.Tensor) -> None:
        """Each level's codebook = k-means centroids of that level's residuals (faiss)."""
        import faiss

        residual = self.encoder(x).numpy().astype(np.float32)
        for level in range(self.config.levels):
            kmeans = faiss.Kmeans(residual.shape[1], self.config.codebook_size, niter=20,
                                  seed=self.config.seed + level, verbose=False)
            kmeans.train(residual)
            self.codebooks[level] = torch.from_numpy(kmeans.centroids)
            _, code = kmeans.index.search(residual, 1)
            residual = residual - kmeans.centroids[code[:, 0]]

    @torch.no_grad()
    def restart_dead_codes(self, x: torch.Tensor, generator: torch.Generator) -> int:
        """Move every codeword no item chose to a random residual of its level; returns how many moved."""
        residual = self.encoder(x)
        moved = 0
        for level in range(self.config.levels):
            book = self.codebooks[level]
            code = torch.cdist(residual, book).argmin(dim=1)
            dead = torch.ones(len(book), dtype=torch.bool)
            dead[code.unique()] = False
            if dead.any():
                picks = torch.randint(len(residual), (int(dead.sum()),), generator=generator)
                book[dead] = residual[picks]
                moved += int(dead.sum())
            residual = residual - book[torch.cdist(residual, book).argmin(dim=1)]
        return moved

    # -- training (kit.training.fit) ---------------------------------------------------------------
    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.config.lr)

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        return self(batch)[2]

    def on_epoch_end(self, epoch: int) -> None:
        """Every 10th epoch but the last, restart the codewords no item chose (on :func:`train_rqvae`'s vectors)."""
        if self._restart is not None and epoch < self.config.epochs - 1 and epoch % 10 == 9:
            self.restart_dead_codes(*self._restart)


def train_rqvae(vectors: np.ndarray, config: RQVAEConfig = RQVAEConfig(), progress: bool = False
                ) -> tuple[RQVAE, np.ndarray, float, list[float]]:
    """Train on the item vectors; ``(model, codes (n, L), reconstruction MSE, loss per epoch)``."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    model = RQVAE(x.shape[1], config)
    model.init_codebooks(x)
    model._restart = (x, generator)

    def batches(epoch: int) -> list[torch.Tensor]:
        order = torch.randperm(len(x), generator=generator)
        return [x[order[start:start + config.batch_size]] for start in range(0, len(x), config.batch_size)]

    history = fit(model, batches, epochs=config.epochs, rngs=(generator,), desc="RQ-VAE", progress=progress).losses
    model._restart = None
    model.eval()
    with torch.no_grad():
        reconstruction, codes, _ = model(x)
    return model, codes.numpy(), float(((x - reconstruction) ** 2).sum(-1).mean()), history
