# packaging.mk: what `make install` adds besides the programs (the agent's systemd unit), and the packaging files `make dist` ships.
#
# bin_PROGRAMS already installs bin/vivo-agent (and bin/vivo-controller once it is built);
# `make uninstall` removes all of it. The unit's directory can be moved at install time:
#   make install systemdunitdir=/etc/systemd/system
systemdunitdir = $(prefix)/lib/systemd/system

# Written at install time, so ExecStart is the bindir being installed to, also when prefix or
# bindir is given on the `make install` command line.
install-data-local: install-vivo-agent-unit
uninstall-local: uninstall-vivo-agent-unit
install-vivo-agent-unit:
	$(MKDIR_P) '$(DESTDIR)$(systemdunitdir)'
	$(SED) -e 's|@bindir[@]|$(bindir)|g' '$(srcdir)/dist/systemd/vivo-agent.service.in' > '$(DESTDIR)$(systemdunitdir)/vivo-agent.service.tmp'
	chmod 644 '$(DESTDIR)$(systemdunitdir)/vivo-agent.service.tmp'
	mv -f '$(DESTDIR)$(systemdunitdir)/vivo-agent.service.tmp' '$(DESTDIR)$(systemdunitdir)/vivo-agent.service'
uninstall-vivo-agent-unit:
	rm -f '$(DESTDIR)$(systemdunitdir)/vivo-agent.service'
.PHONY: install-vivo-agent-unit uninstall-vivo-agent-unit

EXTRA_DIST += \
	dist/systemd/vivo-agent.service.in dist/docker/vivo-healthcheck \
	Dockerfile.agent Dockerfile.controller .dockerignore docker-compose.yml \
	manifests helm kind .github tests/packaging
