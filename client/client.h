/* client: the commands that talk to a running box through its enter
 * socket (planet exec, enter, stop, status), their command lines, the
 * client's terminal, and the connection helper. */
#ifndef PLANET_CLIENT_H
#define PLANET_CLIENT_H

/* argv[0] is the command name ("exec", "enter", "stop", "status"). They
 * return the process exit status to use (255 when planet itself failed). */
int planet_exec_main(int argc, char **argv);

int planet_enter_main(int argc, char **argv);
int planet_stop_main(int argc, char **argv);
int planet_status_main(int argc, char **argv);

/* Operating a running box (client/ops.c): stats, metrics, ps, kill,
 * pause and resume (one entry: argv[0] says which), update, list. */
int planet_stats_main(int argc, char **argv);
int planet_metrics_main(int argc, char **argv);
int planet_ps_main(int argc, char **argv);
int planet_kill_main(int argc, char **argv);
int planet_pause_main(int argc, char **argv);
int planet_update_main(int argc, char **argv);
int planet_list_main(int argc, char **argv);
int planet_events_main(int argc, char **argv);
/* bind and unbind (argv[0] says which). */
int planet_bind_main(int argc, char **argv);
/* device add SPEC, device remove BOXPATH. */
int planet_device_main(int argc, char **argv);

/* `planet -H URL CMD`: the URL every client command uses unless its own
 * -H says otherwise (checked by the command: exit 2 when bad). */
void client_set_host(const char *url);
/* planet dial-stdio: the remote end of -H ssh:// (client/dial_stdio.c). */
int planet_dial_stdio_main(int argc, char **argv);
/* planet cp: files in and out of the box (client/cp.c). */
int planet_cp_main(int argc, char **argv);

#endif
