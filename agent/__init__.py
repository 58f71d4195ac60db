"""The extraction agent: model clients and routing, prompt rendering, the bounded loop,
chat answering."""
