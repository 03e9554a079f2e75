/* The client's terminal: raw mode while an interactive TTY session runs (and
 * the saved mode put back afterwards), the window size, and the signalfd that
 * carries SIGWINCH and the signals a session forwards. */
#include "enter/enter.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

void client_winsize(uint16_t *rows, uint16_t *cols)
{
	struct winsize ws;
	*rows = *cols = 0; /* unknown: the server leaves the pty's default */
	for (int fd = 0; fd <= 2; fd++)
		if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
			*rows = ws.ws_row;
			*cols = ws.ws_col;
			return;
		}
}

/* One terminal per process: the mode to restore lives here. */
static struct {
	bool raw;
	struct termios saved;
} term;

void client_term_raw(void)
{
	struct termios raw;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &term.saved) < 0)
		return;
	raw = term.saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		term.raw = true;
}

void client_term_restore(void)
{
	if (term.raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &term.saved);
	term.raw = false;
}

/* The signals a session forwards, plus WINCH. They are taken through a
 * signalfd so none of them can kill the client while the terminal is raw;
 * the mask stays as it is: the process exits when the command returns. */
int client_signals_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
