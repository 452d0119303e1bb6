"""PyTorch learners that learn to learn in their activations or fast weights."""
