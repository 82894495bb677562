# The service image: a build stage compiles the TypeScript and the native XAPI addon, the runtime
# stage carries only production dependencies, dist/, the addon and the OpenAPI file, and runs
# `xcd serve` as a non-root user with a health check. It must not bake in tokens or passwords.
FROM node:20-bookworm AS build
WORKDIR /src
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx node-gyp rebuild -C addon && npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
# qemu-img converts qcow2 images for pools whose xapi cannot import qcow2 (before 25.27).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-utils && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production XCD_LISTEN=0.0.0.0:8780
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/openapi ./openapi
COPY --from=build /src/addon/build/Release/xapi.node ./addon/build/Release/xapi.node
USER node
EXPOSE 8780
# The VNC consoles the service hands out, one port each (--console-ports, default 5900-5999).
EXPOSE 5900-5999
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8780/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/xcd.js"]
CMD ["serve"]
