"""Pictures and the HTML report of an eval folder. Reads files only (fgvad.eval.folder): no torch, no model."""
