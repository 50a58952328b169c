#!/usr/bin/python3
"""The tutorial's way of blurring masked regions, as the baseline for mask-blur.

Gaussian-blur the whole image with Pillow, then paste the blurred image back
through the mask. Run by bench/run.js with Debian's python3-pil; reads a JSON
spec of cases (argv[1]) and prints one JSON object with the timings.

Each case is timed end to end, the way mask-blur is: for "raw" cases from RGB
bytes in memory to RGB bytes in memory, for "jpeg" cases from the encoded
file's bytes in memory to JPEG bytes in memory (quality 90, Pillow's default
4:2:0 subsampling). Every timed iteration is returned (ms per step), so the
caller can pool the samples of several rounds. The mask (the union of the same instance masks mask-blur
gets) is loaded before timing: building it from the model's output is not
counted against the baseline.
"""
import io
import json
import sys
import time

import PIL
from PIL import Image, ImageFilter


def run_case(case):
    with open(case["input"], "rb") as f:
        data = f.read()
    mask = Image.open(case["mask"]).convert("L")
    mask.load()
    size = (case["width"], case["height"])
    radius = case["radius"]
    steps = {"decode": [], "blur": [], "paste": [], "encode": [], "total": []}

    def once():
        t0 = time.perf_counter()
        if case["kind"] == "raw":
            img = Image.frombytes("RGB", size, data)
        else:
            img = Image.open(io.BytesIO(data)).convert("RGB")
        t1 = time.perf_counter()
        blurred = img.filter(ImageFilter.GaussianBlur(radius))
        t2 = time.perf_counter()
        img.paste(blurred, (0, 0), mask)
        t3 = time.perf_counter()
        if case["kind"] == "raw":
            out = img.tobytes()
        else:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90)
            out = buf.getvalue()
        t4 = time.perf_counter()
        return out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)

    for _ in range(case["warmup"]):
        once()
    for _ in range(case["iterations"]):
        _, times = once()
        for key, t in zip(("decode", "blur", "paste", "encode", "total"), times):
            steps[key].append(t * 1000)
    return steps


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    results = {case["name"]: run_case(case) for case in spec["cases"]}
    print(json.dumps({"pillow": PIL.__version__, "python": sys.version.split()[0], "cases": results}))


if __name__ == "__main__":
    main()
