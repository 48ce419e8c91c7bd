# One image for every Crema stage: `docker run crema <generate|collect|process|export|serve|up>`.
# Node.js 24 (LTS), the newest major the test suite runs on (README, Node.js versions).

# Production dependencies only: no TypeScript, no bundler, no Grafana SDK (dashboards are built
# into JSON in the repository, never at run time).
FROM node:24.21-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Compiles with the dev dependencies (TypeScript, the page bundler); none of them is shipped.
FROM node:24.21-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24.21-trixie-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The order file lives on a volume; a fresh named volume takes this directory's owner.
RUN mkdir -p /data && chown node:node /data
USER node
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["up"]
