"""Independent reference values for tests/data_loading.rs, computed straight from the IDX
files with the standard library (gzip + struct), not with tapegrad.

    python3 tests/data/idx_reference.py
"""
import gzip
import struct

for folder in ["data/mnist-5k", "data/digits"]:
    for split in ["train", "t10k"]:
        with gzip.open(f"{folder}/{split}-images-idx3-ubyte.gz") as f:
            raw = f.read()
        magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
        pixels = raw[16:]
        with gzip.open(f"{folder}/{split}-labels-idx1-ubyte.gz") as f:
            lab = f.read()
        lmagic, ln = struct.unpack(">II", lab[:8])
        labels = lab[8:]
        print(folder, split, hex(magic), n, rows, cols, hex(lmagic), ln,
              "first labels", list(labels[:5]), "pixel sum", sum(pixels),
              "first image sum", sum(pixels[: rows * cols]),
              "label counts", [labels.count(bytes([c])) for c in range(10)])
