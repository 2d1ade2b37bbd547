/** "browser Chrome on Android": what the registry shows as a tab's host. */
export function browserName(): string {
  const ua = navigator.userAgent;
  const m = /(Firefox|Edg|OPR|Chrome|Safari)\/[\d.]+/.exec(ua);
  const os = /Android|iPhone|iPad|Windows|Mac OS X|Linux/.exec(ua)?.[0] ?? '';
  return `browser${m ? ' ' + m[1]!.replace('Edg', 'Edge') : ''}${os ? ' on ' + os : ''}`;
}
