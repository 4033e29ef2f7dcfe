"""Files in, numpy arrays and DataFrames out, with errors a biologist can read.

* :func:`read_image` reads PNG, JPEG and TIFF (8/16/32-bit, grey or RGB, uncompressed or compressed,
  multi-page, z-stacks, time series) and reports the axes.
* :func:`open_frames` streams frames one at a time from a video (MOV, MP4, AVI),
  a folder of images or a TIFF time series, never loading the whole thing.
* :func:`read_table` and :func:`read_epic` read CSV tables with schema checks.

Sources are paths, or raw bytes (an upload) with a ``name`` used only to
describe the file in messages and guess its format, never as a path.

The package: :mod:`.sources` (file kinds, format sniffing, bytes within the limits), :mod:`.images`
(images and TIFF stacks), :mod:`.pixels` (grey, normalised, 8-bit), :mod:`.frames` (streamed frames),
:mod:`.content` (does a plane look like a microscope image), :mod:`.tables` (tables and EPIC files),
:mod:`.files` (uploads, safe ZIPs, temporary folders).
"""
from __future__ import annotations

from devocore.io.sources import (IMAGE_SUFFIXES, MICROSCOPE_STEP, TABLE_SUFFIXES, UPLOAD_KINDS, VIDEO_SUFFIXES,
                                 Source, describe_source, looks_like_text, microscope_format, picture_format,
                                 read_bytes, refuse_microscope_format, refuse_unread_format, sniff_format,
                                 upload_types)
from devocore.io.images import ImageData, check_decoded, check_min_side, check_plane, read_image
from devocore.io.pixels import (EMBRYO_MARGIN, at_most, distinct_channels, embryo_axis, embryo_box, embryo_groups,
                               integer_percentiles, normalize, pick_channel, embryo_region, square_gray, to_gray,
                               to_uint8)
from devocore.io.frames import (MAX_NUMBERING_SPAN, FolderFrames, FrameSource, PlaneReader, ProjectedFrames,
                                StackFrames, VideoFrames, flat_frame_names, natural_key, numbers_from_names,
                                open_frames, read_video_frame, sample_frames, frames_at)
from devocore.io.content import (LIGHT_BACKGROUND, MEMBRANE_BLOB_RATIO, OVERLAY_MIN_PIXELS, blob_ratio,
                                 SATURATED_SHARE, burned_in_marks, content_problem, judged_view,
                                 light_background, marks_mask, saturated_share)
from devocore.io.tables import EPIC_COLUMNS, check_columns, frame_list, nearest_column, read_epic, read_table
from devocore.io.files import clean_suffix, extract_zip, extract_zip_frames, remove_stale_folders, save_upload

__all__ = ["Source", "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "TABLE_SUFFIXES", "UPLOAD_KINDS", "upload_types",
           "MICROSCOPE_STEP", "microscope_format", "refuse_microscope_format", "picture_format",
           "refuse_unread_format", "describe_source", "read_bytes",
           "sniff_format", "looks_like_text", "check_plane", "check_min_side",
           "check_decoded", "ImageData", "read_image", "to_gray", "normalize", "integer_percentiles",
           "to_uint8", "square_gray", "pick_channel", "distinct_channels", "EMBRYO_MARGIN", "embryo_box",
           "embryo_axis", "embryo_groups", "embryo_region", "at_most",
           "FrameSource", "VideoFrames", "FolderFrames",
           "StackFrames", "ProjectedFrames", "PlaneReader",
           "natural_key",
           "MAX_NUMBERING_SPAN", "numbers_from_names", "flat_frame_names", "open_frames", "read_video_frame",
           "sample_frames", "frames_at",
           "EPIC_COLUMNS", "read_table",
           "check_columns", "frame_list", "nearest_column", "read_epic", "remove_stale_folders", "clean_suffix", "save_upload",
           "extract_zip", "extract_zip_frames", "content_problem", "judged_view", "light_background", "blob_ratio",
           "LIGHT_BACKGROUND", "MEMBRANE_BLOB_RATIO", "OVERLAY_MIN_PIXELS", "burned_in_marks",
           "marks_mask", "SATURATED_SHARE", "saturated_share"]
