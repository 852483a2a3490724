"""Media access through the ffmpeg and ffprobe programs (never a shell)."""
