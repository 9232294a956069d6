"""The independent LiveVox Contact API emulator: written from the spec, imports nothing of syncd."""
