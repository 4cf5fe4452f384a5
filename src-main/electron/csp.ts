/**
 * The Content-Security-Policy of the lab, for the Electron window and the web
 * host alike. No remote origins at all (the lab is offline); 'wasm-unsafe-eval'
 * is for onnxruntime-web; blob: workers for the training worker; data: images
 * for thumbnails sent as base64 PNG; ECharts needs inline styles.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
