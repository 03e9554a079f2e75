/* The client's terminal: raw mode while an interactive TTY session runs (and
 * the saved mode put back afterwards), the window size, and the signalfd that
 * carries SIGWINCH and the signals a session forwards. */
#include "client/internal.h"

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

/* One terminal per process: the mode to restore lives here. wanted: the
 * session asked for raw mode; raw: the terminal is raw now (not while the
 * client is stopped, or continued in the background). */
static struct {
	bool wanted, raw;
	struct termios saved;
} term;

static bool foreground(void)
{
	return tcgetpgrp(STDIN_FILENO) == getpgrp();
}

static void make_raw(void)
{
	struct termios raw = term.saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		term.raw = true;
}

void client_term_raw(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &term.saved) < 0)
		return;
	term.wanted = true;
	make_raw();
}

static void put_back(void)
{
	if (term.raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &term.saved);
	term.raw = false;
}

void client_term_restore(void)
{
	put_back();
	term.wanted = false;
}

/* What SIGTSTP would have done had it not been blocked for the signalfd:
 * stop, so that the calling shell's job control sees a stopped job, unless
 * whoever started us had it ignored. */
static void stop_self(void)
{
	struct sigaction old;
	if (sigaction(SIGTSTP, NULL, &old) < 0 || old.sa_handler == SIG_IGN)
		return;
	sigset_t tstp;
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	kill(getpid(), SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &tstp, NULL); /* stops here until SIGCONT */
	sigprocmask(SIG_BLOCK, &tstp, NULL);
}

/* Continued (fg, bg, kill -CONT): raw again, but only in the foreground; a
 * job continued in the background gets its raw mode back at the SIGCONT of
 * a later fg. */
static void resume(void)
{
	if (term.wanted && !term.raw && foreground())
		make_raw();
}

enum client_sig client_tty_signal(int signo)
{
	switch (signo) {
	case SIGWINCH:
		return CSIG_RESIZE;
	case SIGTSTP: {
		/* Ctrl-Z in raw mode is a byte for the box; this is kill -TSTP
		 * (or a terminal not in raw mode): the user's terminal must not
		 * stay raw while the shell has it. */
		put_back();
		stop_self();
		/* The SIGCONT that woke us waits in the signalfd, and resumes
		 * at its turn. None comes when the kernel discarded the stop
		 * (an orphaned process group never stops): resume now. */
		sigset_t pending;
		if (sigpending(&pending) == 0 && sigismember(&pending, SIGCONT))
			return CSIG_NONE;
		resume();
		return CSIG_RESIZE;
	}
	case SIGCONT:
		/* The window may have changed while another job had the
		 * terminal: its SIGWINCH went there, not to us. */
		resume();
		return CSIG_RESIZE;
	default:
		return CSIG_FORWARD;
	}
}

/* The signals a session forwards, plus WINCH, TSTP and CONT, which the
 * client handles itself (client_tty_signal). They are taken through a
 * signalfd so none of them can kill or stop the client while the terminal
 * is raw; the mask stays as it is: the process exits when the command
 * returns. */
int client_signals_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	int sigs[] = { SIGINT,	SIGTERM,  SIGHUP,  SIGQUIT, SIGUSR1,
		       SIGUSR2, SIGWINCH, SIGTSTP, SIGCONT };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
