# dlplay on Debian with Python 3.11: `docker build -t dlplay . && docker run -p 8501:8501 dlplay`
FROM python:3.11-slim-bookworm

# Fashion-MNIST from Debian, so the app has a full dataset offline.
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist fluidsynth fluid-soundfont-gm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

ENV DLPLAY_DATA_DIR=/data
# A shared server: private workspaces, and no traceback (server paths) in a browser; details go to the log.
ENV DLPLAY_SHARED=1
VOLUME ["/data"]
EXPOSE 8501
CMD ["python", "-m", "ui.serve", "--server.address=0.0.0.0", "--server.port=8501", "--client.showErrorDetails=none"]
