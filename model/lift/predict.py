"""Predict on one skeleton: exercise words with confidences, and the rep count (method.md §8)."""
from __future__ import annotations

import numpy as np
import torch

from olympia.labels.qa import pluralize_label
from olympia.labels.vocabulary import Vocabulary

from lift import metrics
from lift.configs import IMAGE_HEIGHT, IMAGE_WIDTH
from lift.images import clip_image_chw
from lift.model import REP_HEADS
from lift.tokenizer import encode

IDENTIFY_QUESTION = "What exercise is being performed?"
COUNT_QUESTION = "How many {exercise} were done?"


@torch.no_grad()
def _probs(model, tokenizer, image: np.ndarray, question: str, max_tokens: int) -> tuple[np.ndarray, float | None]:
    """(softmax probabilities, the continuous count of a model with a rep head (the density's sum
    or the phase's turns), else None)."""
    device = next(model.parameters()).device
    w = image.shape[2]
    pixels = torch.zeros((1, 3, IMAGE_HEIGHT, IMAGE_WIDTH), dtype=torch.float16)
    mask = torch.zeros((1, IMAGE_HEIGHT, IMAGE_WIDTH), dtype=torch.bool)
    pixels[0, :, : image.shape[1], :w] = torch.from_numpy(image)
    mask[0, : image.shape[1], :w] = True
    ids, att = encode(tokenizer, [f"Q: {question} A:"], max_tokens)
    inputs = (torch.from_numpy(ids).to(device), torch.from_numpy(att).to(device), pixels.to(device), mask.to(device))
    if getattr(model, "count_head", "classes") in REP_HEADS:
        logits, rep, valid = model(*inputs, density=True)
        return torch.softmax(logits.float(), dim=-1)[0].cpu().numpy(), float(model.rep_count(rep, valid)[0])
    return torch.softmax(model(*inputs).float(), dim=-1)[0].cpu().numpy(), None


def predict_skeleton(model, tokenizer, vocab: Vocabulary, keypoints: np.ndarray, *, max_tokens: int = 40,
                     tau: float = metrics.TAU, exercise: str | None = None, time_axis: str = "native") -> dict:
    """{"words": [(word, p), ...] (p >= tau, most confident first), "label": str, "count": int,
    "count_confidence": float}. The counting question names `exercise`, by default the
    predicted words in order of confidence. A model with the rep-density head counts by its
    density (rounded sum, lift.density), and adds "count_classes" (the integer class answer)
    and "density_sum"; count_confidence stays the class answer's probability."""
    model.eval()
    image = clip_image_chw(keypoints, time_axis=time_axis)
    p, _ = _probs(model, tokenizer, image, IDENTIFY_QUESTION, max_tokens)
    tokens, integers = vocab.tokens, vocab.integer_indices()
    words = [(tokens[j], float(p[j])) for j in vocab.word_indices() if p[j] >= tau]
    words.sort(key=lambda x: -x[1])
    label = exercise or " ".join(w for w, _ in words) or "exercise"
    q, density_sum = _probs(model, tokenizer, image, COUNT_QUESTION.format(exercise=pluralize_label(label)),
                            max_tokens)
    best = int(np.argmax(q[integers]))
    out = {"words": words, "label": label, "count": int(vocab.integer_values()[best]),
           "count_confidence": float(q[integers][best]), "frames": int(len(keypoints))}
    if density_sum is not None:
        from lift.density import count_from_density
        out.update(count_classes=out["count"], density_sum=density_sum,
                   count=int(count_from_density(np.array([density_sum]), vocab.integer_values())[0]))
    return out
