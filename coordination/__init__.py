"""The coordination service's web layer: the Flask app, OAuth, the API and the command line.

`create_app` lives in `coordination.app`; it is not imported here so that the command line can
set up the process (metrics directory, broker) before the web stack is loaded.
"""
