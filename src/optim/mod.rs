//! Optimisers and learning-rate schedulers. PyTorch: `torch.optim`. Work in progress (issue 4).
