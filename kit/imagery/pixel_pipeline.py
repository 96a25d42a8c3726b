"""``TextConditionedPixelPipeline``: the kit's own small diffusion pipeline, in diffusers' style.

A ``UNet2DConditionModel`` denoises RGB pixels directly (no VAE: at 64 px a latent space would save
little), conditioned on one text embedding per image (MiniLM, 384 numbers) passed as a sequence of
length 1. Classifier-free guidance uses the zero vector as the empty prompt, which is also what
training drops to 10% of the time.

One ``__call__`` covers the three tasks, as SD's pipelines do with their three classes:
- text to image: start from noise;
- variation (SDEdit): start from the given image noised to ``strength``;
- inpainting (RePaint-style): wherever ``mask`` is 0 the known image, noised to the current step,
  replaces the sample after every step, so only the masked region is generated.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import DDPMScheduler, DiffusionPipeline, UNet2DConditionModel
from PIL import Image

from kit.errors import BadInput


class TextConditionedPixelPipeline(DiffusionPipeline):
    def __init__(self, unet: UNet2DConditionModel, scheduler: DDPMScheduler) -> None:
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)

    @property
    def resolution(self) -> int:
        return int(self.unet.config.sample_size)

    def check_inputs(self, prompt_embeds: torch.Tensor, image, mask, strength: float, num_inference_steps: int,
                     guidance_scale: float) -> None:
        dim = self.unet.config.encoder_hid_dim or self.unet.config.cross_attention_dim
        if prompt_embeds.ndim != 2 or prompt_embeds.shape[1] != dim:
            raise BadInput(f"prompt_embeds must have shape (batch, {dim}), got {tuple(prompt_embeds.shape)}")
        if not 0.0 < strength <= 1.0:
            raise BadInput(f"strength must be in (0, 1], got {strength}")
        if num_inference_steps < 1:
            raise BadInput("num_inference_steps must be at least 1")
        if guidance_scale < 0:
            raise BadInput("guidance_scale must be 0 or more")
        if mask is not None and image is None:
            raise BadInput("inpainting needs the image the mask belongs to")

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """An image as a (1, 3, R, R) tensor in [-1, 1] at this pipeline's resolution."""
        image = image.convert("RGB").resize((self.resolution, self.resolution), Image.BICUBIC)
        array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
        return torch.from_numpy(array).permute(2, 0, 1)[None].to(self.device, self.unet.dtype)

    @torch.no_grad()
    def __call__(self, prompt_embeds: torch.Tensor, image: Image.Image | None = None, mask: np.ndarray | None = None,
                 strength: float = 1.0, num_inference_steps: int = 50, guidance_scale: float = 2.0,
                 generator: torch.Generator | None = None) -> list[Image.Image]:
        # 1. check inputs
        self.check_inputs(prompt_embeds, image, mask, strength, num_inference_steps, guidance_scale)
        batch, size = prompt_embeds.shape[0], self.resolution
        cond = prompt_embeds.to(self.device, self.unet.dtype)[:, None, :]
        uncond = torch.zeros_like(cond)
        # 2. timesteps: all of them, or the last ``strength`` share for a variation
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        timesteps = self.scheduler.timesteps
        if image is not None and mask is None:
            timesteps = timesteps[len(timesteps) - max(1, int(round(len(timesteps) * strength))):]
        # 3. the starting sample
        shape = (batch, 3, size, size)
        noise = torch.randn(shape, generator=generator, device="cpu", dtype=torch.float32).to(self.device, self.unet.dtype)
        known = self.to_tensor(image).expand(batch, -1, -1, -1) if image is not None else None
        if known is not None and mask is None:
            sample = self.scheduler.add_noise(known, noise, timesteps[:1])
        else:
            sample = noise * self.scheduler.init_noise_sigma
        keep = None
        if mask is not None:  # 1 = generate, 0 = keep the image
            m = torch.from_numpy(np.asarray(Image.fromarray((np.asarray(mask) > 0).astype(np.uint8) * 255)
                                            .resize((size, size), Image.NEAREST)) > 0)
            keep = (~m).to(self.device, self.unet.dtype)[None, None]
        # 4. denoise, with classifier-free guidance
        for i, t in enumerate(self.progress_bar(timesteps)):
            both = self.unet(torch.cat([sample, sample]), t, encoder_hidden_states=torch.cat([uncond, cond])).sample
            eps_uncond, eps_cond = both.chunk(2)
            eps = eps_uncond + guidance_scale * (eps_cond - eps_uncond)
            sample = self.scheduler.step(eps, t, sample, generator=generator).prev_sample
            if keep is not None:
                following = timesteps[i + 1: i + 2]
                known_t = self.scheduler.add_noise(known, torch.randn(shape, generator=generator).to(sample), following) \
                    if len(following) else known
                sample = keep * known_t + (1 - keep) * sample
        # 5. to images
        pixels = ((sample.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        return [Image.fromarray(p) for p in pixels]


def tiny_unet(resolution: int = 64, text_dim: int = 384, channels: tuple[int, ...] = (32, 64, 128)) -> UNet2DConditionModel:
    """The small UNet the kit trains: 3 levels, attention with the text at the two lower ones."""
    down = ["DownBlock2D"] + ["CrossAttnDownBlock2D"] * (len(channels) - 1)
    up = ["CrossAttnUpBlock2D"] * (len(channels) - 1) + ["UpBlock2D"]
    return UNet2DConditionModel(sample_size=resolution, in_channels=3, out_channels=3, layers_per_block=1,
                                block_out_channels=channels, down_block_types=down, up_block_types=up,
                                cross_attention_dim=channels[-1], encoder_hid_dim=text_dim,
                                attention_head_dim=8, norm_num_groups=8)
