"""An honest Flower App in the layout of Flower's PyTorch template, on digits."""
