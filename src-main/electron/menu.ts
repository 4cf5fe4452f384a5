/** The application menu: standard roles plus the lab's views. */
import { Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';

const VIEWS = ['datasets', 'models', 'train', 'compare', 'inspect', 'system'] as const;

export function buildMenu(win: BrowserWindow): Menu {
  const isMac = process.platform === 'darwin';
  const go = (view: string) => () => {
    // Navigation is a hash change inside our own page: no new origin is loaded.
    void win.webContents.executeJavaScript(`location.hash = ${JSON.stringify('#/' + view)}`);
  };
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'Lab',
      submenu: VIEWS.map((v, i) => ({
        label: v[0]!.toUpperCase() + v.slice(1),
        accelerator: `CmdOrCtrl+${i + 1}`,
        click: go(v),
      })),
    },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}
