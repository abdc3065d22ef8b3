# Production image: gunicorn serves Django; the same image runs the Celery worker and beat.
FROM node:20-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=frontend /app/node_modules ./node_modules
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v0
RUN useradd --create-home crm && mkdir -p /app/var && chown crm /app/var
USER crm
EXPOSE 8000
# Workers: one per CPU (gunicorn.conf.py); WEB_CONCURRENCY sets another number.
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
