"""Tools that read and write annotation files and datasets: convert, split, translate, synth."""
