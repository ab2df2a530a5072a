"""Data files shipped with fgvad: the official UCF-Crime test annotation and split lists."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
UCF_TEMPORAL_ANNOTATION = RESOURCES / "ucf_crime" / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt"
UCF_FRAME_COUNTS = RESOURCES / "ucf_crime" / "test_frame_counts_and_annotation.txt"
UCF_TRAIN_LIST = RESOURCES / "ucf_crime" / "Anomaly_Train.txt"
UCF_TEST_LIST = RESOURCES / "ucf_crime" / "Anomaly_Test.txt"
