"""The sandbox worker: the ONLY place where Steward opens a pickle-based model file.

It is never imported by Steward's app or CLI. ``core.registry.artifact_sandbox`` starts it as
``python -I -m steward_sandbox`` in a short-lived process with an empty environment (no
STEWARD_* settings, no database URL, no audit key, no Streamlit secrets), its working directory
in a fresh temporary directory, no file writes (RLIMIT_FSIZE 0), and limits on memory and CPU
time. It reads one request on stdin, opens the file, and answers on stdout with the model
re-saved in skops format, which the parent then loads against its explicit allow-list of types.
Whatever code the pickle runs, it runs here, in a process that holds nothing worth stealing and
can change nothing on disk, and the parent never unpickles anything this process returns.
"""
