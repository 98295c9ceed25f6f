"""The model, the data and the train/test loops, as Flower's PyTorch template writes them
(digits instead of CIFAR-10: 8x8 images, 10 classes)."""

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    """A float32 MLP for 1x8x8 images: Flatten, 64-32-16-10, ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def partition(partition_id: int, train_size: int, test_size: int):
    """This client's images (shape (m, 1, 8, 8), normalized to [-1, 1]) and class
    indices: a training split and a held-out split."""
    digits = load_digits()
    images = (digits.images / 16.0 - 0.5) / 0.5
    x = torch.tensor(images[:, None], dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    size = train_size + test_size
    start = partition_id * size
    train = slice(start, start + train_size)
    test = slice(start + train_size, start + size)
    return (x[train], y[train]), (x[test], y[test])


def load_data(partition_id: int, batch_size: int, train_size: int, test_size: int):
    """Train and test DataLoaders for one client (the training one shuffles)."""
    (x_train, y_train), (x_test, y_test) = partition(partition_id, train_size, test_size)
    trainloader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    testloader = DataLoader(TensorDataset(x_test, y_test), batch_size=batch_size)
    return trainloader, testloader


def train(net: nn.Module, trainloader: DataLoader, epochs: int, lr: float, device: str) -> float:
    """Train the model on the training set; the mean loss over its batches."""
    net.to(device)
    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    running_loss = 0.0
    for _ in range(epochs):
        for images, labels in trainloader:
            optimizer.zero_grad()
            loss = criterion(net(images.to(device)), labels.to(device))
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    return running_loss / (epochs * len(trainloader))


def test(net: nn.Module, testloader: DataLoader, device: str) -> tuple[float, float]:
    """The mean loss over the test batches, and the accuracy."""
    net.to(device)
    criterion = nn.CrossEntropyLoss()
    correct, loss = 0, 0.0
    net.eval()
    with torch.no_grad():
        for images, labels in testloader:
            outputs = net(images.to(device))
            loss += criterion(outputs, labels.to(device)).item()
            correct += (outputs.argmax(1) == labels.to(device)).sum().item()
    return loss / len(testloader), correct / len(testloader.dataset)


def truth(partition_id: int, run_config: dict) -> dict:
    """What the client holds under the app's run config, for scoring an audit:
    {split: (inputs (m, 64), one-hot labels (m, 10))}."""
    sizes = int(run_config["train-size"]), int(run_config["test-size"])
    splits = partition(partition_id, *sizes)
    return {
        name: (x.reshape(len(x), -1).numpy().astype(np.float64), np.eye(10)[y.numpy()])
        for name, (x, y) in zip(("train", "evaluate"), splits, strict=True)
    }
