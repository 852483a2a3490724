"""The quick start, end to end on a 2-core CPU in a few minutes, offline:

    synthetic world -> curricula -> WebDataset shards -> train stage c1 (`tiny`) -> localization
    evaluation (SoundNet-Flickr protocol) with heatmap PNGs.

    python pipelines/quickstart.py --work avcurr-work/quickstart

Rerunning resumes: finished clips, shards and checkpoints are kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_steps import Recipe, run_recipe  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("avcurr-work/quickstart"), help="output folder")
    parser.add_argument("--train-clips", type=int, default=240, help="synthetic single-source training clips (stage c1)")
    parser.add_argument("--test-clips", type=int, default=40, help="held-out single-source clips")
    parser.add_argument("--steps", type=int, default=300, help="training steps (batch 16) for stage c1")
    parser.add_argument("--minutes", type=float, default=3.0, help="training time cap for stage c1")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is faster on a busy machine)")
    args = parser.parse_args(argv)
    run_recipe(args.work, Recipe(train_clips=args.train_clips, test_clips=args.test_clips, distractor_clips=0,
                                 stages=(1,), steps=(args.steps,), minutes=(args.minutes,), threads=args.threads))


if __name__ == "__main__":
    main()
