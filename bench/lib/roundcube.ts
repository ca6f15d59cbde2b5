/**
 * Bench helper: a private Roundcube (Debian's roundcube-core 1.6 with its SQLite driver) served by its own
 * php-fpm and nginx on a loopback port, everything (config, SQLite database, sockets, logs, temp) under one
 * directory, talking IMAP to a private Dovecot. No system service, file or port is touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { waitPort } from './postamt.ts';

/** Debian's layout: the web root with Roundcube's public_html, and the defaults it reads from its config dir. */
const INSTALL = '/var/lib/roundcube';
const DEFAULTS = '/usr/share/roundcube/config/defaults.inc.php';
const PHP_FPM = ['/usr/sbin/php-fpm8.2', '/usr/sbin/php-fpm8.3', '/usr/sbin/php-fpm'].find((p) => existsSync(p));
const NGINX = '/usr/sbin/nginx';
/** The unprivileged user php-fpm's workers and nginx's workers run as (Debian's web server user). */
const WEB_USER = 'www-data';

/** Why Roundcube cannot run here, or null when its packages and the programs it needs are installed. */
export function roundcubeMissing(): string | null {
  const installed = (pkg: string): boolean =>
    spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout.includes('install ok installed');
  if (!installed('roundcube-core')) return 'Debian\'s roundcube-core is not installed';
  if (!installed('roundcube-sqlite3')) return 'Debian\'s roundcube-sqlite3 is not installed';
  if (!PHP_FPM) return 'php-fpm is not installed';
  if (!existsSync(NGINX)) return 'nginx (nginx-light) is not installed';
  // The bench delivers its new message to Dovecot over LMTP, as Postfix would hand it over.
  if (!existsSync('/usr/lib/dovecot/lmtp')) return 'Debian\'s dovecot-lmtpd is not installed';
  if (process.getuid?.() !== 0) return 'not running as root (php-fpm and nginx drop to www-data)';
  if (!existsSync(join(INSTALL, 'public_html', 'index.php'))) return `${INSTALL}/public_html is missing`;
  return null;
}

export interface RoundcubeInstance {
  /** http://127.0.0.1:PORT/ */
  url: string;
  stop(): Promise<void>;
}

function defaultsFile(): string {
  for (const p of [DEFAULTS, '/etc/roundcube/defaults.inc.php']) if (existsSync(p)) return p;
  throw new Error('Roundcube\'s defaults.inc.php not found');
}

/**
 * Starts Roundcube in `dir` on 127.0.0.1:`httpPort`, logging in to the IMAP server at 127.0.0.1:`imapPort`.
 * Settings are Roundcube's defaults (elastic skin, widescreen layout, 50 rows a page, refresh every 60 s)
 * except what a private instance needs (its database, paths, no SMTP, no plugins).
 */
export async function startRoundcube(options: { dir: string; httpPort: number; imapPort: number }): Promise<RoundcubeInstance> {
  const { dir } = options;
  const web = spawnSync('id', ['-u', WEB_USER], { encoding: 'utf8' });
  const gid = Number(spawnSync('id', ['-g', WEB_USER], { encoding: 'utf8' }).stdout.trim());
  const uid = Number(web.stdout.trim());
  const config = join(dir, 'config');
  const writable = ['temp', 'logs', 'db', 'nginx-tmp'].map((d) => join(dir, d));
  for (const d of [config, ...writable]) mkdirSync(d, { recursive: true });
  // The workers (www-data) must reach the directory and write their own parts of it.
  chmodSync(dir, 0o755);
  for (let up = dirname(dir); up !== dirname(up); up = dirname(up)) {
    if ((statSync(up).mode & 0o001) === 0) throw new Error(`${up} is not searchable by others, so ${WEB_USER} cannot reach ${dir}`);
  }
  for (const d of writable) chownSync(d, uid, gid);
  symlinkSync(defaultsFile(), join(config, 'defaults.inc.php'));
  if (existsSync('/etc/roundcube/mimetypes.php')) symlinkSync('/etc/roundcube/mimetypes.php', join(config, 'mimetypes.php'));

  const dbFile = join(dir, 'db', 'roundcube.db');
  const db = new Database(dbFile);
  db.exec(readFileSync('/usr/share/roundcube/SQL/sqlite.initial.sql', 'utf8'));
  db.close();
  chownSync(dbFile, uid, gid);

  const php = (value: string): string => `'${value.replace(/[\\']/g, '\\$&')}'`;
  writeFileSync(join(config, 'config.inc.php'), [
    '<?php',
    '$config = [];',
    `$config['db_dsnw'] = ${php(`sqlite:///${dbFile}?mode=0640`)};`,
    `$config['imap_host'] = ${php(`127.0.0.1:${options.imapPort}`)};`,
    '$config[\'smtp_host\'] = \'\';',
    `$config['temp_dir'] = ${php(join(dir, 'temp') + '/')};`,
    `$config['log_dir'] = ${php(join(dir, 'logs') + '/')};`,
    `$config['des_key'] = ${php(randomBytes(12).toString('hex'))};`,
    '$config[\'plugins\'] = [];',
    '$config[\'skin\'] = \'elastic\';',
    '$config[\'support_url\'] = \'\';',
    '$config[\'enable_spellcheck\'] = false;',
    '$config[\'enable_installer\'] = false;',
    // Login from the bench's fresh browser contexts in quick succession must not be refused.
    '$config[\'login_rate_limit\'] = 0;',
    '',
  ].join('\n'));

  const fpmSocket = join(dir, 'php-fpm.sock');
  writeFileSync(join(dir, 'php-fpm.conf'), [
    '[global]',
    `pid = ${join(dir, 'php-fpm.pid')}`,
    `error_log = ${join(dir, 'logs', 'php-fpm.log')}`,
    'daemonize = no',
    '[roundcube]',
    `user = ${WEB_USER}`,
    `group = ${WEB_USER}`,
    `listen = ${fpmSocket}`,
    'listen.owner = root',
    `listen.group = ${WEB_USER}`,
    'listen.mode = 0660',
    // Debian's pool defaults: a dynamic pool of up to 5 workers.
    'pm = dynamic',
    'pm.max_children = 5',
    'pm.start_servers = 2',
    'pm.min_spare_servers = 1',
    'pm.max_spare_servers = 3',
    'clear_env = no',
    `env[ROUNDCUBE_CONFIG_DIR] = ${config}`,
    'php_admin_value[upload_max_filesize] = 25M',
    'php_admin_value[post_max_size] = 30M',
    '',
  ].join('\n'));

  const tmp = join(dir, 'nginx-tmp');
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
master_process on;
worker_processes auto;
user ${WEB_USER};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'nginx-error.log')};
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_timeout 65;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  client_max_body_size 30m;
  # As Roundcube's shipped .htaccess does with mod_deflate: compressed text, cached static files.
  gzip on;
  gzip_vary on;
  gzip_types text/css application/javascript text/javascript application/json image/svg+xml text/plain text/xml;
  server {
    listen 127.0.0.1:${options.httpPort};
    server_name localhost;
    root ${INSTALL}/public_html;
    index index.php;
    location ~ ^/(SQL|bin|config|logs|temp|program/(include|lib|localization|steps))/ { deny all; }
    location ~* \\.(js|css|png|svg|gif|ico|woff2?|ttf|eot)$ { expires 30d; }
    location ~ \\.php$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass unix:${fpmSocket};
    }
  }
}
`);

  const children: ChildProcess[] = [];
  const launch = (cmd: string, args: string[]): ChildProcess => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => { if (code) process.stderr.write(`[roundcube] ${cmd} exited ${code}: ${err}\n`); });
    children.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) return res();
      child.once('exit', () => res());
      // nginx: SIGQUIT is a graceful stop; php-fpm: SIGQUIT too.
      child.kill('SIGQUIT');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    })));
  };
  try {
    launch(PHP_FPM!, ['--nodaemonize', '--fpm-config', join(dir, 'php-fpm.conf'), '--prefix', dir]);
    for (let i = 0; i < 100 && !existsSync(fpmSocket); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(fpmSocket)) throw new Error(`php-fpm did not start; see ${dir}/logs/php-fpm.log`);
    launch(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')]);
    await waitPort(options.httpPort);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${options.httpPort}/`, stop };
}
