# One image for every Crema stage: `docker run crema <generate|collect|process|export|serve|up>`.

# Production dependencies only.
FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Compiles with the dev dependencies (TypeScript, the page bundler); none of them is shipped.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20.19-bookworm-slim
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
