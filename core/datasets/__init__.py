"""Data sets of clips, read in the layouts they ship in.

``load_dataset(path, layout=None, split=None)`` reads a folder in any layout of :data:`LAYOUTS`, recognised by
its index files (or forced with ``layout``), and names the layout it used (``Dataset.layout``):

==============  ===========================================================  ==================================
layout          recognised by                                                module
==============  ===========================================================  ==================================
manifest        ``manifest.csv`` (``path,label[,split]``, ``audio_path``,     :mod:`.manifest`
                ``video_path`` for separate files)
ucf101          ``ucfTrainTestlist/classInd.txt`` (folds 1-3)                :mod:`.ucf101`
dcase2021-1b    ``meta.csv`` / ``evaluation_setup/`` with ``filename_audio``  :mod:`.paired`
                and ``filename_video`` (fold 1)
vggsound        ``vggsound.csv``                                             :mod:`.youtube`
kinetics        annotation CSVs with ``youtube_id,time_start,time_end``      :mod:`.youtube`
crema-d         ``AudioWAV/`` (and ``VideoFlash/``) with CREMA-D names        :mod:`.paired`
mimii           ``<machine>/id_XX/{normal,abnormal}/*.wav``                  :mod:`.mimii`
folders         a folder per class (optionally below ``train/ val/ test/``)  :mod:`.manifest`
==============  ===========================================================  ==================================

A clip whose audio and video are separate files is a :class:`Sample` with ``audio_path``; its ``source`` is a
:class:`core.media.Pair`, decoded into one clip by :func:`core.media.load_clip`. Clips an index file names
that cannot be loaded (missing on disk, an unknown label) are left out, each with a sentence naming the index
file and line (``Dataset.skipped``), and reported with the clips that cannot be decoded.
"""
from .base import (
    MEDIA_SUFFIXES, SPLIT_NAMES, Dataset, DatasetError, Sample, Unreadable, classes_of, split_by_classes,
    unreadable_sentence,
)
from .layouts import LAYOUTS, OPTIONS_FILE, Layout, add_data_arguments, load_dataset, recognise
from .manifest import MANIFEST

__all__ = ["LAYOUTS", "MANIFEST", "MEDIA_SUFFIXES", "OPTIONS_FILE", "SPLIT_NAMES", "Dataset", "DatasetError", "Layout",
           "Sample", "Unreadable", "add_data_arguments", "classes_of", "load_dataset", "recognise", "split_by_classes",
           "unreadable_sentence"]
