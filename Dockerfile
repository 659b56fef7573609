# dlplay on Debian with Python 3.11: `docker build -t dlplay . && docker run -p 8501:8501 -v $HOME/dlplay-data:/data dlplay`
FROM python:3.11-slim-bookworm

# Fashion-MNIST from Debian, so the app has a full dataset offline.
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist fluidsynth fluid-soundfont-gm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements*.txt ./
RUN pip install --no-cache-dir -r requirements.txt -r requirements-music.txt -r requirements-cluster.txt
COPY . .
RUN pip install --no-cache-dir --no-deps . && rm -rf build

# Everything a class makes lives on the volume: datasets, the run store (every student's runs and weights) and
# the caches (the DCGAN's judge, pretrained bodies) — a recreated container keeps them all.
ENV DLPLAY_DATA_DIR=/data DLPLAY_HOME=/data/runs DLPLAY_CACHE_DIR=/data/cache
# A shared server: private workspaces, and no traceback (server paths) in a browser; details go to the log.
ENV DLPLAY_SHARED=1
RUN useradd --create-home --uid 1000 dlplay && mkdir -p /data && chown dlplay /data
USER dlplay
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_dlplay/health', timeout=8).status != 200)"
CMD ["dlplay", "--address=0.0.0.0", "--port=8501", "--shared"]
