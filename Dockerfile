# The order service's image: one image, two commands (API and worker), built in stages.
# Used by temporal-dev.yml; the same image runs any number of API and worker processes.

FROM node:20.18-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The image needs no Temporal CLI (it connects to a cluster) and no embedded PostgreSQL.
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
# tsc to dist/, and the workflow bundle built once (dist/workflow-bundle.js).
RUN npm run build && npm prune --omit=dev

FROM node:20.18-bookworm-slim AS runtime
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/console ./console
COPY --from=build /app/package.json ./package.json
USER node
EXPOSE 3000
# temporal-dev.yml picks the command per service: the API, the worker or the migrations.
CMD ["node", "dist/api/main.js"]
