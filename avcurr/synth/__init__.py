"""A synthetic audiovisual world with known ground truth, written in the real datasets' formats.

`synthesize(SynthConfig(out=DIR, clips=N, seed=S))` writes, for each clip key `<ytid>_0`:

- `DIR/media/<key>.mp4`: H.264 (yuv420p) + AAC (mono 11025 Hz), byte-identical for a given seed;
- `DIR/stems/<key>/<i>_<category>.wav` per sounding object and `background.wav` (mono 11025 Hz,
  16 bit): their sum is the soundtrack before encoding;
- `DIR/truth/<key>.json`: objects (category, AudioSet class, sounding flag, per-second on/off,
  per-frame boxes in pixels), n_sources, labels, stems, event, Flickr-style boxes;
- `DIR/flickr/annotations/<key>.xml`, `DIR/flickr/frames/<key>.png` (middle frame);

and for the whole world `DIR/segments.csv` (AudioSet layout), `DIR/flickr/test_list.txt`,
`DIR/music/MUSIC_solo_videos.json`, `DIR/music/MUSIC_duet_videos.json`, `DIR/ave/Annotations.txt`
and `DIR/synth.json` (the settings).
"""

from avcurr.synth.config import SynthConfig
from avcurr.synth.run import SynthSummary, synthesize

__all__ = ["SynthConfig", "SynthSummary", "synthesize"]
