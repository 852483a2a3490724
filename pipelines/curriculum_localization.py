"""The localization recipe of issue 6: curriculum stages c1 then c2 of the `tiny` model on synthetic
shards, each evaluated on held-out synthetic clips against the trivial baselines.

    python pipelines/curriculum_localization.py --work avcurr-work/curriculum

- train world: 600 clips with 1 or 2 sounding objects (c1 and c2 shards);
- test world: 100 single-source clips (the SoundNet-Flickr setting: one sounding object, boxes by
  three annotators on the middle frame);
- distractor world: 60 clips with one sounding and one silent object (pointing game: does the map
  pick the object that makes the sound?);
- every evaluation uses the localization rule the checkpoint records (the default rule, see
  pipelines/README.md) beside the paper's rule; --visual-centres also scores eq. 7 told k_v;
- stage c1 trains 600 steps (capped at --c1-minutes), stage c2 400 steps from c1's checkpoint
  (lr * 0.1). Longer c1 training overfits the 300 single-source clips: a 10-minute run
  (3,100 steps) scored lower than 600 steps on the held-out clips.

Writes results.json, per-evaluation folders with per_image.csv, success_curves.png and heatmap
overlays, and the training curves under run/c*/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_steps import Recipe, run_recipe  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("avcurr-work/curriculum"), help="output folder")
    parser.add_argument("--train-clips", type=int, default=600)
    parser.add_argument("--test-clips", type=int, default=100)
    parser.add_argument("--distractor-clips", type=int, default=60)
    parser.add_argument("--c1-steps", type=int, default=600, help="stage c1 steps (batch 16)")
    parser.add_argument("--c2-steps", type=int, default=400, help="stage c2 steps (batch 16)")
    parser.add_argument("--c1-minutes", type=float, default=10.0, help="wall-clock cap of stage c1")
    parser.add_argument("--c2-minutes", type=float, default=5.0, help="wall-clock cap of stage c2")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is faster on a busy machine)")
    parser.add_argument("--visual-centres", action="store_true",
                        help="also score eq. 7 told k_v = one visual centre per visible object plus the background")
    args = parser.parse_args(argv)
    run_recipe(args.work, Recipe(train_clips=args.train_clips, test_clips=args.test_clips,
                                 distractor_clips=args.distractor_clips, stages=(1, 2),
                                 steps=(args.c1_steps, args.c2_steps),
                                 minutes=(args.c1_minutes, args.c2_minutes), threads=args.threads,
                                 told=args.visual_centres))


if __name__ == "__main__":
    main()
