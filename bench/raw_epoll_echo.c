/* The baseline: a minimal hand-written epoll echo server (level-triggered,
 * one read and one write per event), the floor our server is held to.
 * Usage: raw_epoll_echo  (prints "listening on 127.0.0.1:PORT") */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct epoll_event ev, evs[256];
    char buf[4096];
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0), i, n;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen))
        return 1;
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 256, -1);
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0)
                    continue;
                fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
                ev.events = EPOLLIN;
                ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
            } else {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r <= 0) {
                    close(fd);
                    continue;
                }
                if (write(fd, buf, (size_t)r) != r) {
                    close(fd);
                }
            }
        }
    }
}
