
// ¡‡šcted-error2>, %out: memremref<?x32x128xf16>) {
  fd.decode_attent