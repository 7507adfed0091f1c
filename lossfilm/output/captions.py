"""A storyboard's words in time: chapters (ffmpeg's ffmetadata, for the MP4's chapter marks) and captions
(WebVTT and SubRip files; the MP4's soft subtitle track), from the frame plan's StoryPlan."""
from __future__ import annotations

from pathlib import Path


def _clock(seconds: float, comma: bool) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if comma else '.'}{ms:03d}"


def _one_line(text: str) -> str:
    """A caption's text: mathtext's dollar signs kept, line breaks kept, no blank line (it ends a cue)."""
    return "\n".join(line for line in text.splitlines() if line.strip()) or " "


def vtt(cues: list[dict]) -> str:
    body = "".join(f"{k + 1}\n{_clock(c['start'], False)} --> {_clock(c['end'], False)}\n{_one_line(c['text'])}\n\n"
                   for k, c in enumerate(cues))
    return "WEBVTT\n\n" + body


def srt(cues: list[dict]) -> str:
    return "".join(f"{k + 1}\n{_clock(c['start'], True)} --> {_clock(c['end'], True)}\n{_one_line(c['text'])}\n\n"
                   for k, c in enumerate(cues))


def _escape_meta(text: str) -> str:
    # ffmetadata escapes '=', ';', '#', '\' and newlines with a backslash.
    for ch in "\\=;#":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\\n")


def ffmetadata(chapters: list[dict]) -> str:
    blocks = "".join(f"[CHAPTER]\nTIMEBASE=1/1000\nSTART={int(round(c['start'] * 1000))}\n"
                     f"END={int(round(c['end'] * 1000))}\ntitle={_escape_meta(c['title'])}\n\n" for c in chapters)
    return ";FFMETADATA1\n" + blocks


def with_story(master: Path, path: Path, chapters: list[dict], cues: list[dict]) -> Path:
    """The finished ``master`` film copied (not encoded again) to ``path`` with chapter marks and, when there
    are ``cues``, a soft subtitle track (mov_text), index first."""
    from .encode import _ffmpeg, _publish, part_path

    meta = part_path(path.with_suffix(".ffmeta"))
    subs = part_path(path.with_suffix(".srt"))
    meta.write_text(ffmetadata(chapters), encoding="utf-8")
    args = ["-i", str(master), "-f", "ffmetadata", "-i", str(meta)]
    maps = ["-map", "0:v", "-map_metadata", "1", "-map_chapters", "1"]
    if cues:
        subs.write_text(srt(cues), encoding="utf-8")
        args += ["-f", "srt", "-i", str(subs)]
        # Off until the viewer turns it on: the film already shows its titles and callouts.
        maps += ["-map", "2:s", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
                 "-metadata:s:s:0", "handler_name=Captions", "-disposition:s:0", "0"]
    try:
        return _publish(part_path(path), path, lambda tmp: _ffmpeg(
            [*args, *maps, "-c:v", "copy", "-movflags", "+faststart", str(tmp)], "chapters"))
    finally:
        meta.unlink(missing_ok=True)
        subs.unlink(missing_ok=True)
