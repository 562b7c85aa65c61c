"""Optimizers: SGD, Adam, AdamW, and lr_scheduler."""
