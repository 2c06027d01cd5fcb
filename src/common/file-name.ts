/** Database names may hold any character; only these reach a file name (others become '_'). */
export function fileSafeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
}
