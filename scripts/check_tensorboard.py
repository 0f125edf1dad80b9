#!/usr/bin/env python3
"""Reads the TensorBoard event files that our Swift writer produced, with TensorBoard's own reader, and records
what it saw, so that a Swift test can check that TensorBoard reads back exactly what we wrote.

The fixture is Tests/TrainingTests/Fixtures/tensorboard/events.out.tfevents.* (two files: a run, and a resumed
run that restarts at step 6 with a SessionLog.START, which must make TensorBoard drop the first run's steps 6-9).
It is written by TensorBoardTests.writeFixtureRun; TensorBoardTests.testWriterOutputIsByteIdenticalToTheFixture
checks that the writer still produces these bytes, and testTensorBoardReadTheFixtureAsWritten checks
tensorboard_read.json (written here) against the values, steps and wall times the writer was given.
The JSON also holds protobuf's own serialisation of three events (`protobuf_encodings`), which
testEventEncodingMatchesProtobuf compares with our hand encoding.

Regenerate (needs `pip install tensorboard`; TensorFlow is not needed):

    WRITE_TENSORBOARD_FIXTURE=1 swift test --filter TensorBoardTests/testWriterOutputIsByteIdenticalToTheFixture
    python3 scripts/check_tensorboard.py                  # or: python3 scripts/check_tensorboard.py RUN_DIR

With a directory argument it reads any log directory (a run directory) and prints the JSON instead of writing
the fixture.
"""
import json
import os
import sys

from tensorboard import __version__ as tensorboard_version
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2, summary_pb2

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TrainingTests", "Fixtures",
                       "tensorboard")


def read(directory):
    # size_guidance 0 keeps every event (the default samples long runs down to 1,000 per tag).
    accumulator = event_accumulator.EventAccumulator(directory, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()  # the stub reader checks both masked CRC32Cs of every record
    tags = accumulator.Tags()["scalars"]
    if not tags:
        sys.exit(f"{directory}: TensorBoard found no scalars")
    return {
        "tensorboard_version": tensorboard_version,
        "file_version": accumulator.file_version,
        "scalars": {tag: [[event.step, event.wall_time, event.value] for event in accumulator.Scalars(tag)]
                    for tag in sorted(tags)},
    }


def protobuf_encodings():
    """Events serialised by protobuf itself, for TensorBoardTests.testEventEncodingMatchesProtobuf."""
    scalars = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="train/loss", simple_value=3.25),
                                         summary_pb2.Summary.Value(tag="val/loss/wiki", simple_value=-0.5)])
    events = {
        "file_version": event_pb2.Event(wall_time=1700000000.125, file_version="brain.Event:2"),
        "scalars": event_pb2.Event(wall_time=1700000000.5, step=123456789012, summary=scalars),
        "session_start": event_pb2.Event(wall_time=1700000001.0, step=201,
                                         session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)),
    }
    return {name: event.SerializeToString().hex() for name, event in events.items()}


def main():
    if len(sys.argv) > 1:
        print(json.dumps(read(sys.argv[1]), indent=1, sort_keys=True))
        return
    result = read(FIXTURE)
    result["protobuf_encodings"] = protobuf_encodings()
    path = os.path.join(FIXTURE, "tensorboard_read.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}: " + ", ".join(f"{tag} ({len(v)} points)" for tag, v in result["scalars"].items()))


if __name__ == "__main__":
    main()
