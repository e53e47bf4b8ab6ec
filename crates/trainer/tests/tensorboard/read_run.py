"""Reads a run folder's event files with TensorBoard's own EventAccumulator and prints what it
found as JSON: every scalar series (step, value), every image (step, width, height, PNG
signature check), the hyperparameters and session status the HParams plugin would read.

    python read_run.py RUN_FOLDER
"""

import json
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def main(run):
    # size_guidance 0: keep every event (TensorBoard's server samples; the test wants all).
    acc = event_accumulator.EventAccumulator(
        run,
        size_guidance={
            event_accumulator.SCALARS: 0,
            event_accumulator.IMAGES: 0,
            event_accumulator.TENSORS: 0,
        },
    )
    acc.Reload()
    tags = acc.Tags()
    scalars = {
        tag: [[event.step, event.value] for event in acc.Scalars(tag)]
        for tag in tags["scalars"]
    }
    images = {
        tag: [
            [
                event.step,
                event.width,
                event.height,
                event.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n",
            ]
            for event in acc.Images(tag)
        ]
        for tag in tags["images"]
    }
    hparams = {}
    status = None
    for tag, content in acc.PluginTagToContent("hparams").items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            for name, value in data.session_start_info.hparams.items():
                kind = value.WhichOneof("kind")
                hparams[name] = getattr(value, kind)
        if data.HasField("session_end_info"):
            status = data.session_end_info.status
    print(
        json.dumps(
            {"scalars": scalars, "images": images, "hparams": hparams, "status": status}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
