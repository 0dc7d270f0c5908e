//! pipelab-proxy: a TCP proxy over OS sockets.
